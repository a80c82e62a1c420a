// Duplicate detection on raise (并单候选): open calls of the same category, near in space and time,
// with similar text (character bigrams, Chinese-aware), offered to the people handling the call.
import type { Identity } from '../../platform/auth.ts';
import { visibilityFilter } from './access.ts';
import type { UnitDirectory } from '../../platform/unit-directory.ts';
import { type DuplicateOptions, duplicateScore, duplicateSettings, textFingerprint } from './domain/similarity.ts';
import type { CallIndex } from './call-index.ts';
import { type CallDoc, OPEN_STATUSES } from './model.ts';

const CANDIDATE_SCAN = 300;
const OFFERED = 5;
/**
 * Each held call's text fingerprint, kept with the call object the index holds (a new version is a
 * new object, and a call that leaves memory takes its fingerprint with it): every new call is
 * compared with up to CANDIDATE_SCAN others, and without them each comparison cut both texts into
 * grams again (three quarters of the calls service's CPU during a burst of intake, bench:scale's profile).
 */
const fingerprints = new WeakMap<CallDoc, Float64Array>();

export class DuplicateFinder {
  private readonly options: Readonly<Required<DuplicateOptions>>;

  constructor(
    private readonly index: CallIndex,
    private readonly directory: UnitDirectory,
    options: DuplicateOptions = {},
  ) {
    this.options = duplicateSettings(options);
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
    const subject = { category: call.category, ...this.textOf(call), location: call.location, raisedAt };
    return others
      .flatMap((other) => {
        const match = duplicateScore(
          { category: other.category, ...this.textOf(other), location: other.location, raisedAt: other.raisedAt },
          subject,
          this.options,
        );
        return match ? [{ call: other, score: Math.round(match.score * 1000) / 1000, reasons: match.reasons }] : [];
      })
      .sort((a, b) => b.score - a.score)
      .slice(0, OFFERED);
  }

  /** A call's text and its fingerprint. */
  private textOf(call: CallDoc) {
    const text = `${call.title} ${call.description}`;
    let fingerprint = fingerprints.get(call);
    if (!fingerprint) fingerprints.set(call, (fingerprint = textFingerprint(text)));
    return { text, fingerprint };
  }
}
