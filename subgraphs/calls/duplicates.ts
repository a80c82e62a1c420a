// Duplicate detection on raise (并单候选): open calls of the same category, near in space and time,
// with similar text (character bigrams, Chinese-aware), offered to the people handling the call.
import type { Identity } from '../../platform/auth.ts';
import { visibilityFilter } from './access.ts';
import type { UnitDirectory } from '../../platform/unit-directory.ts';
import { type DuplicateOptions, type DuplicateSubject, duplicateScore, duplicateSettings, textFingerprint } from './domain/similarity.ts';
import type { CallIndex } from './call-index.ts';
import { type CallDoc, OPEN_STATUSES } from './model.ts';

const CANDIDATE_SCAN = 300;
const OFFERED = 5;
/**
 * Each held call as the comparison reads it (its text fingerprint above all), kept with the call
 * object the index holds (a new version is a new object, and a call that leaves memory takes it
 * along): every new call is compared with up to CANDIDATE_SCAN others, and without them each
 * comparison cut both texts into grams again (three quarters of the calls service's CPU during a
 * burst of intake, bench:scale's profile).
 */
const subjects = new WeakMap<CallDoc, DuplicateSubject>();

export class DuplicateFinder {
  private readonly options: Readonly<Required<DuplicateOptions>>;

  constructor(
    private readonly index: CallIndex,
    private readonly directory: UnitDirectory,
    options: DuplicateOptions = {},
  ) {
    this.options = duplicateSettings(options);
  }

  /**
   * The open calls most like `call` that `identity` may see, best first. `compared` narrows the
   * calls compared (intake looks only for an earlier call from another source): a call it turns away
   * costs no comparison, but still counts towards CANDIDATE_SCAN, so the scan stays bounded.
   */
  async candidatesFor(call: CallDoc, identity: Identity, compared: (other: CallDoc) => boolean = () => true) {
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
    const subject = subjectOf(call);
    return others
      .flatMap((other) => {
        const match = compared(other) ? duplicateScore(subjectOf(other), subject, this.options) : undefined;
        return match ? [{ call: other, score: Math.round(match.score * 1000) / 1000, reasons: match.reasons }] : [];
      })
      .sort((a, b) => b.score - a.score)
      .slice(0, OFFERED);
  }
}

function subjectOf(call: CallDoc): DuplicateSubject {
  let subject = subjects.get(call);
  if (!subject) {
    const text = `${call.title} ${call.description}`;
    subject = { category: call.category, text, fingerprint: textFingerprint(text), location: call.location, raisedAt: new Date(call.raisedAt) };
    subjects.set(call, subject);
  }
  return subject;
}
