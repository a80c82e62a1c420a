// Duplicate detection on raise (并单候选): open calls of the same category, near in space and time,
// with similar text (character bigrams, Chinese-aware), offered to the people handling the call.
import type { Identity } from '../../platform/auth.ts';
import { visibilityFilter } from './access.ts';
import type { UnitDirectory } from '../../platform/unit-directory.ts';
import { DEFAULT_DUPLICATE_OPTIONS, type DuplicateOptions, duplicateScore } from './domain/similarity.ts';
import type { CallIndex } from './call-index.ts';
import { type CallDoc, OPEN_STATUSES } from './model.ts';

const CANDIDATE_SCAN = 300;
const OFFERED = 5;

export class DuplicateFinder {
  private readonly options: Required<DuplicateOptions>;

  constructor(
    private readonly index: CallIndex,
    private readonly directory: UnitDirectory,
    options: DuplicateOptions = {},
  ) {
    this.options = { ...DEFAULT_DUPLICATE_OPTIONS, ...options };
  }

  async candidatesFor(call: CallDoc, identity: Identity) {
    if (!OPEN_STATUSES.includes(call.status)) return [];
    const windowMs = this.options.windowHours * 3_600_000;
    const raisedAt = new Date(call.raisedAt);
    const others = this.index.find({
      filter: {
        $and: [
          visibilityFilter(identity, this.directory),
          {
            _id: { $ne: call._id },
            category: call.category,
            status: { $in: OPEN_STATUSES },
            raisedAt: { $gte: new Date(raisedAt.getTime() - windowMs), $lte: new Date(raisedAt.getTime() + windowMs) },
          },
        ],
      },
      limit: CANDIDATE_SCAN,
    });
    const subject = { category: call.category, text: `${call.title} ${call.description}`, location: call.location, raisedAt };
    return others
      .flatMap((other) => {
        const match = duplicateScore(
          { category: other.category, text: `${other.title} ${other.description}`, location: other.location, raisedAt: other.raisedAt },
          subject,
          this.options,
        );
        return match ? [{ call: other, score: Math.round(match.score * 1000) / 1000, reasons: match.reasons }] : [];
      })
      .sort((a, b) => b.score - a.score)
      .slice(0, OFFERED);
  }
}
