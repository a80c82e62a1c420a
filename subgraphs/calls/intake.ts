// Applies normalized intake commands from `hub.intake` (written by the connectors and the enterprise
// zone). Idempotent: a call's id is derived from (source, externalId), so the same record twice makes
// one call, and every other command is applied once by its commandId. An update to a closed call is
// recorded, never reopens it. A command that is malformed or cannot apply goes to `hub.intake.dlq`
// as a dead letter like the connectors' (platform/dead-letter.ts), with its reason, so that
// `npm run connectors:redrive` can put it back after a fix; transient failures are thrown so the
// record is retried. Records come in runs (handleBatch): new calls are stored and published a slice
// at a time, every other command in its call's order.
import type { Producer } from 'kafkajs';
import type { Identity } from '../../platform/auth.ts';
import type { ConsumedRecord } from '../../platform/consumer.ts';
import { contract } from '../../platform/contracts.ts';
import { deadLetterOutput } from '../../platform/dead-letter.ts';
import { isUserError } from '../../platform/errors.ts';
import type { Logger } from '../../platform/logger.ts';
import { intakeContext, type PersonalOriginals, scrubText } from '../../platform/personal-data.ts';
import { type Keyring, SealError } from '../../platform/personal-keys.ts';
import { DISTRICT_ID } from '../../demo/district.ts';
import { parseRecord, Rejected, type SourceRecord, sourceRecord } from '../../platform/source-record.ts';
import type { UnitDirectory } from '../../platform/unit-directory.ts';
import type { DuplicateFinder } from './duplicates.ts';
import { satisfactionOf } from './lifecycle.ts';
import { type CallDoc, type CallSource, OPEN_STATUSES, type Satisfaction } from './model.ts';
import type { OrderService } from './orders.ts';
import { type CallStore, INSERT_SLICE, type NewCall, stableCallId } from './store.ts';

export interface IntakeCommand {
  commandId: string;
  source: 'hotline' | 'sanfang' | 'petition' | 'enterprise' | 'citizen' | 'open311';
  externalId: string;
  kind: 'create_call' | 'update_call' | 'revoke_call' | 'rate_call' | 'callback' | 'issue_order' | 'close_order';
  occurredAt: string;
  call?: {
    title: string;
    description: string;
    category: string;
    itemCode?: string;
    priority: 'NORMAL' | 'URGENT';
    unitId?: string;
    location?: { lng: number; lat: number };
    address?: string;
    /** The contact in clear, as a producer builds the command: never on the wire (sealIntakeCommand seals it into `personal`). */
    citizen?: { name?: string; phone?: string };
    /** Sealed personal data (platform/personal-data.ts PersonalOriginals): the contact, the texts as written. */
    personal?: string;
    identityProtected?: boolean;
    attachments?: string[];
    receivedAt?: string;
    completeBy?: string;
    deadlineNotes?: string[];
    /** A 信访 appeal: its stage and the source record (externalId) of the decision it questions. */
    appeal?: { stage: 'review' | 'rereview'; of: string };
    followers?: string[];
  };
  update?: {
    action: 'note' | 'urge' | 'transfer' | 'extend' | 'accept' | 'follow';
    note: string;
    completeBy?: string;
    deadlineNotes?: string[];
    follower?: string;
  };
  rating?: { satisfaction: Satisfaction; contacted?: boolean; resolved?: boolean; comment?: string };
  /** A valid 12345 call-back (回访): the citizen's own answers. */
  callback?: { contacted: boolean; resolved: boolean; satisfaction: Satisfaction; comment?: string };
  order?: {
    title: string;
    description: string;
    kind: 'KEY_TASK' | 'FIRST_AGENDA' | 'RED_LINE' | 'INSPECTION';
    priority: 'NORMAL' | 'URGENT';
    unitIds: string[];
    deadline: string;
  };
  reason?: string;
}

const SOURCES: Record<IntakeCommand['source'], CallSource> = {
  hotline: 'HOTLINE',
  sanfang: 'SANFANG',
  petition: 'PETITION',
  enterprise: 'ENTERPRISE',
  citizen: 'CITIZEN',
  // Open311 GeoReport v2 clients are citizen portals and apps (connectors/open311).
  open311: 'CITIZEN',
};

const STARS: Record<Satisfaction, number> = { VERY_SATISFIED: 5, SATISFIED: 4, BASIC: 3, UNSATISFIED: 1 };

const validateCommand = contract<IntakeCommand>('intake-command');

/** Sources whose citizens may complain about one matter through more than one channel. */
const CITIZEN_SOURCES = new Set<IntakeCommand['source']>(['hotline', 'petition', 'citizen', 'open311']);
/**
 * A call from one source that matches an open call from another this well (duplicate score: text,
 * distance, time) is the same matter reported twice — the noisy site from 12345 and from 信访 — and
 * is merged into the earlier one, so it is handled once and both sources hear the result.
 */
export const CROSS_SOURCE_MERGE_SCORE = 0.6;

/** DOMAIN.md "12345 call-back" *(default)*: the first 不满意 sends the call back for rework, the second goes to the command centre. */
export const DEFAULT_CALLBACK_REWORKS = 1;

/** The call id a source record always maps to. */
export function sourceCallId(source: string, externalId: string): string {
  return stableCallId(`source:${source}:${externalId}`);
}

/** Names the calls intake in its dead letters (schemas/events/dead-letter.schema.json `connector`). */
const INTAKE_CONSUMER = 'calls-intake';

const unknownCall = (id: string) => new Rejected('unknown_call', `unknown call for this source record (${id})`);

export class IntakeProcessor {
  constructor(
    private readonly store: CallStore,
    private readonly orders: OrderService,
    private readonly directory: UnitDirectory,
    private readonly producer: Producer,
    /** Opens the contact sealed in a command, and seals what a dead letter must not show. */
    private readonly keys: Keyring,
    private readonly logger: Logger,
    /** Offers calls from the citizen-facing sources to the duplicate check; without it none are merged. */
    private readonly duplicates?: DuplicateFinder,
    /** 不满意 call-backs that send a call back for rework before the command centre takes it (DOMAIN.md: once). */
    private readonly callbackReworks = DEFAULT_CALLBACK_REWORKS,
  ) {}

  /**
   * Applies a run of consecutive records of one partition, in offset order (platform/consumer.ts
   * `handleBatch`); resolves once every one is stored or dead-lettered. New calls are gathered and
   * stored INSERT_SLICE at a time, one insert and one outbox send each (CallStore.createMany); any
   * other command about a gathered call first stores them, so each call's commands keep their order.
   * Commands about other calls, and orders, apply one by one as they come.
   */
  async handleBatch(records: readonly ConsumedRecord[]): Promise<void> {
    let gathered: Array<{ record: SourceRecord; command: IntakeCommand }> = [];
    const gatheredIds = new Set<string>();
    const storeGathered = async () => {
      const slice = gathered;
      gathered = [];
      gatheredIds.clear();
      if (slice.length > 0) await this.createCalls(slice);
    };
    for (const { topic, partition, message } of records) {
      const record = sourceRecord(topic, partition, message);
      let command: IntakeCommand;
      try {
        command = parseRecord(record, validateCommand);
      } catch (err) {
        await this.refuse(record, err);
        continue;
      }
      const id = sourceCallId(command.source, command.externalId);
      // An appeal reads the call it appeals against, which may be among those gathered.
      if (command.kind === 'create_call' && !command.call?.appeal) {
        if (gathered.length >= INSERT_SLICE) await storeGathered();
        gathered.push({ record, command });
        gatheredIds.add(id);
        continue;
      }
      if (gatheredIds.has(id) || command.call?.appeal) await storeGathered();
      try {
        await this.apply(command);
      } catch (err) {
        await this.refuse(record, err);
      }
    }
    await storeGathered();
  }

  /**
   * Stores new calls with one insert; a repeat of a record (in the slice, or stored before) is the
   * call already made. Then offers each to the cross-source merge, in order.
   */
  private async createCalls(slice: Array<{ record: SourceRecord; command: IntakeCommand }>): Promise<void> {
    const drafts = new Map<string, { record: SourceRecord; command: IntakeCommand; call: CallDoc }>();
    for (const { record, command } of slice) {
      const id = sourceCallId(command.source, command.externalId);
      if (drafts.has(id)) continue;
      try {
        drafts.set(id, { record, command, call: this.store.draft(await this.newCall(command), id) });
      } catch (err) {
        await this.refuse(record, err);
      }
    }
    if (drafts.size === 0) return;
    const { stored, refused } = await this.store.createMany([...drafts.values()].map(({ call }) => call));
    // A draft the schema refuses is this service's fault, not the record's: a dead letter to re-drive once fixed.
    for (const [id, err] of refused) await this.refuse(drafts.get(id)!.record, new Rejected('schema', err.message));
    // A repeat of the record offers it again, so a crash between create and merge loses nothing.
    for (const [id, { command }] of drafts) {
      const call = stored.get(id)?.call;
      if (call && CITIZEN_SOURCES.has(command.source)) await this.mergeCrossSource(call, command);
    }
  }

  /**
   * A record that can never apply (bad data, unknown unit, illegal transition) becomes a dead letter;
   * anything else (a transient failure) is thrown, so the run is not committed and comes again.
   */
  private async refuse(record: SourceRecord, err: unknown): Promise<void> {
    if (!(err instanceof Rejected) && !isUserError(err)) throw err;
    const failure = { code: err instanceof Rejected ? err.code : ('rule' as const), reason: (err as Error).message, attempts: 1 };
    this.logger.warn(
      { topic: record.topic, partition: record.partition, offset: record.offset, reasonCode: failure.code, reason: failure.reason },
      'intake command dead-lettered',
    );
    const { topic: dlq, ...letter } = deadLetterOutput(INTAKE_CONSUMER, record, failure, this.keys);
    await this.producer.send({ topic: dlq, messages: [letter] });
  }

  private identity(command: IntakeCommand): Identity {
    return {
      subject: `${command.source}-connector`,
      unitId: DISTRICT_ID,
      role: 'service_account',
      scopes: ['calls:read', 'calls:write'],
    };
  }

  async apply(command: IntakeCommand): Promise<void> {
    const id = sourceCallId(command.source, command.externalId);
    const sourceRef = { system: command.source, externalId: command.externalId };
    const appliedKey = `cmd:${command.commandId}`;
    switch (command.kind) {
      case 'create_call': {
        const { call: created } = await this.store.create(await this.newCall(command), id);
        // A repeat of the record offers it again, so a crash between create and merge loses nothing.
        if (CITIZEN_SOURCES.has(command.source)) await this.mergeCrossSource(created, command);
        return;
      }
      case 'update_call': {
        const update = command.update as NonNullable<IntakeCommand['update']>;
        const updated = await this.store.system(
          id,
          (call) => {
            const open = OPEN_STATUSES.includes(call.status);
            const completeBy = update.completeBy ? new Date(update.completeBy) : undefined;
            const entry = { action: `source_${update.action}`, note: update.note, attachments: [] };
            if (update.action === 'follow') {
              // An enterprise's newly assigned officer follows its calls, closed ones too (the history).
              const follower = update.follower as string;
              const followers = call.followers ?? [];
              return {
                set: followers.includes(follower) ? {} : { followers: [...followers, follower] },
                entry,
                event: { type: 'call.source_update', data: { action: update.action, applied: true } },
              };
            }
            return {
              // A source may move its own limit while the call is open (its extension, or a petition's
              // handling limit counted from its acceptance): the new limit is the outer bound from then
              // on; notes already on the call stay. A closed call only records it.
              set:
                open && (update.action === 'extend' || update.action === 'accept') && completeBy
                  ? {
                      deadlines: {
                        ...call.deadlines,
                        complete: completeBy,
                        limit: completeBy,
                        notes: [...new Set([...(call.deadlines.notes ?? []), ...(update.deadlineNotes ?? [])])],
                      },
                    }
                  : {},
              entry,
              event: { type: 'call.source_update', data: { action: update.action, applied: open } },
            };
          },
          { appliedKey },
        );
        if (!updated) throw unknownCall(id);
        return;
      }
      case 'revoke_call': {
        const call = await this.requireCall(id);
        if (OPEN_STATUSES.includes(call.status)) {
          await this.store.act(id, { kind: 'withdraw', reason: command.reason ?? '来源系统撤回', revokeOf: sourceRef }, this.identity(command), {
            key: appliedKey,
          });
        } else {
          await this.record(id, appliedKey, 'source_revoke', `来源系统撤回（事项已${call.status}，仅记录）：${command.reason}`);
        }
        return;
      }
      case 'rate_call': {
        const rating = command.rating as NonNullable<IntakeCommand['rating']>;
        const stars = STARS[rating.satisfaction];
        const rated = await this.store.system(
          id,
          (call) => {
            const ratedAt = new Date(command.occurredAt);
            const sourceRating = {
              stars,
              satisfaction: satisfactionOf(stars),
              comment: rating.comment,
              ratedAt,
              ratedBy: { subject: `${command.source}-connector`, unitId: DISTRICT_ID, role: 'service_account' as const },
            };
            const note = `回访：${rating.satisfaction}${rating.resolved === false ? '，未解决' : ''}${rating.comment ? `，${rating.comment}` : ''}`;
            // The citizen's call-back rating closes a completed call; on any other call it is recorded.
            if (call.status === 'COMPLETED') {
              return {
                set: { status: 'CLOSED', closedAt: ratedAt, rating: sourceRating },
                entry: { action: 'source_rating', note, attachments: [] },
                event: { type: 'call.closed', data: { stars, satisfaction: sourceRating.satisfaction, bySource: true } },
              };
            }
            return {
              set: call.rating ? {} : { rating: sourceRating },
              entry: { action: 'source_rating', note, attachments: [] },
              event: { type: 'call.rated_by_source', data: { stars, satisfaction: sourceRating.satisfaction } },
            };
          },
          { appliedKey },
        );
        if (!rated) throw unknownCall(id);
        return;
      }
      case 'callback': {
        const answers = command.callback as NonNullable<IntakeCommand['callback']>;
        await this.requireCall(id);
        await this.store.act(id, { kind: 'callback', ...answers, reworks: this.callbackReworks }, this.identity(command), { key: appliedKey });
        return;
      }
      case 'issue_order': {
        const order = command.order as NonNullable<IntakeCommand['order']>;
        await this.orders.issueFromSource({ ...order, deadline: new Date(order.deadline) }, DISTRICT_ID, sourceRef);
        return;
      }
      case 'close_order':
        await this.orders.closeBySource(sourceRef, command.reason ?? '来源系统解除');
        return;
    }
  }

  /** The call a create_call command asks for, routed, its contact opened. */
  private async newCall(command: IntakeCommand): Promise<NewCall> {
    const call = command.call as NonNullable<IntakeCommand['call']>;
    const originUnitId = this.route(call);
    const assignTo = call.appeal ? await this.appealUnit(command, call.appeal, originUnitId) : undefined;
    return {
      // Scrubbed on the wire already; again here for a producer that missed something. What the
      // source wrote stays sealed in `personal`, shown only to those who may see the citizen.
      title: scrubText(call.title),
      description: scrubText(call.description),
      category: call.category,
      itemCode: call.itemCode,
      priority: call.priority,
      source: SOURCES[command.source],
      sourceRef: { system: command.source, externalId: command.externalId },
      originUnitId,
      assignTo,
      location: call.location,
      address: call.address === undefined ? undefined : scrubText(call.address),
      citizen: this.contactOf(command),
      personal: call.personal,
      identityProtected: call.identityProtected ?? command.source === 'petition',
      attachments: call.attachments,
      raisedBy: { subject: `${command.source}-connector`, unitId: DISTRICT_ID, role: 'service_account' },
      followers: call.followers,
      raisedAt: call.receivedAt ? new Date(call.receivedAt) : undefined,
      completeBy: call.completeBy ? new Date(call.completeBy) : undefined,
      deadlineNotes: call.deadlineNotes,
    };
  }

  /** Merges a new source call into an earlier open call from another source about the same matter. */
  private async mergeCrossSource(call: CallDoc, command: IntakeCommand): Promise<void> {
    if (!this.duplicates) return;
    if (call.status === 'MERGED' && call.mergedInto) return this.linkMerged(call._id, call.mergedInto);
    if (!OPEN_STATUSES.includes(call.status)) return;
    const earlier = (other: CallDoc) =>
      new Date(other.raisedAt).getTime() < new Date(call.raisedAt).getTime() ||
      (new Date(other.raisedAt).getTime() === new Date(call.raisedAt).getTime() && other._id < call._id);
    // Only into an earlier call, so two copies merging two new calls at once never merge them into
    // each other; only calls from another source are compared (a burst from one source compares none).
    const intoCandidate = (other: CallDoc) => other.sourceRef?.system !== command.source && other.status !== 'MERGED' && earlier(other);
    const match = (await this.duplicates.candidatesFor(call, this.identity(command), intoCandidate)).find(
      (c) => c.score >= CROSS_SOURCE_MERGE_SCORE,
    );
    if (!match) return;
    const into = match.call._id;
    const note = `跨来源重复（${match.reasons.join('；')}，相似度 ${match.score}），并入 ${into} 办理`;
    const merged = await this.store.system(call._id, (current) =>
      OPEN_STATUSES.includes(current.status)
        ? {
            set: { status: 'MERGED', mergedInto: into, statusBeforeMerge: current.status },
            entry: { action: 'merge', note, attachments: [] },
            event: { type: 'call.merged', data: { intoId: into, crossSource: true, score: match.score } },
          }
        : undefined,
    );
    if (merged?.mergedInto !== into) return;
    await this.linkMerged(call._id, into);
    this.logger.info({ callId: call._id, into, score: match.score }, 'cross-source duplicate merged');
  }

  private async linkMerged(mergedId: string, into: string): Promise<void> {
    await this.store.system(into, (target) =>
      target.mergedCallIds.includes(mergedId)
        ? undefined
        : {
            set: { mergedCallIds: [...target.mergedCallIds, mergedId] },
            entry: { action: 'merge_received', note: mergedId, attachments: [] },
            event: { type: 'call.merge_received', data: { mergedId, crossSource: true } },
          },
    );
  }

  private async requireCall(id: string) {
    const call = await this.store.get(id);
    if (!call) throw unknownCall(id);
    return call;
  }

  private async record(id: string, appliedKey: string, action: string, note: string) {
    await this.store.system(
      id,
      () => ({ set: {}, entry: { action, note, attachments: [] }, event: { type: 'call.source_update', data: { action } } }),
      { appliedKey },
    );
  }

  /**
   * Who decides a 信访 appeal: one level above the unit complained about (信访工作条例: 复查 and 复核 by
   * the body above): a grid's community, a community's street, a street's district leadership. A 复核
   * needs its 复查 first: without one it is refused (dead letter, reason "rule").
   */
  private async appealUnit(
    command: IntakeCommand,
    appeal: NonNullable<NonNullable<IntakeCommand['call']>['appeal']>,
    complainedAbout: string,
  ): Promise<string> {
    if (appeal.stage === 'rereview' && !(await this.store.get(sourceCallId(command.source, appeal.of)))) {
      throw new Rejected('rule', `复核须在复查之后：没有复查记录 ${appeal.of} (a 复核 needs a prior 复查)`);
    }
    const unit = this.directory.require(complainedAbout);
    const above = this.directory.callUpTarget(unit.id);
    if (above) return above.id;
    const district = unit.kind === 'street' ? unit.parentId : undefined;
    const leadership = this.directory.ofKind('leadership').find((u) => u.parentId === district);
    if (!leadership) throw new Rejected('no_route', `no unit above ${unit.id} to decide the ${appeal.stage}`);
    return leadership.id;
  }

  /** The citizen's contact sealed in the command; a value no configured key opens is refused. */
  private contactOf(command: IntakeCommand): PersonalOriginals['citizen'] {
    const sealed = command.call?.personal;
    if (!sealed) return undefined;
    try {
      return this.keys.openJson<PersonalOriginals>(sealed, intakeContext(command.source, command.externalId)).citizen;
    } catch (err) {
      if (err instanceof SealError) throw new Rejected('unknown_key', `call.personal: ${err.message}`);
      throw err;
    }
  }

  /** The receiving unit, or routing by place (就近派单) to the grid that holds the point. */
  private route(call: NonNullable<IntakeCommand['call']>): string {
    if (call.unitId) {
      const unit = this.directory.get(call.unitId);
      if (!unit) throw new Rejected('unknown_unit', `unknown unit ${call.unitId}`);
      if (unit.kind === 'grid' || unit.kind === 'community' || unit.kind === 'street') return unit.id;
      if (!call.location) throw new Rejected('no_route', `unit ${call.unitId} (${unit.kind}) cannot receive calls and no location was given`);
    }
    if (call.location) {
      const grid = this.directory.gridAt(call.location);
      if (!grid) throw new Rejected('outside_district', `location ${call.location.lng},${call.location.lat} is outside every grid of the district`);
      return grid.id;
    }
    throw new Rejected('no_route', 'neither a receiving unit nor a location to route by');
  }
}
