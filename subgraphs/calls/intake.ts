// Applies normalized intake commands from `hub.intake` (written by the connectors and the enterprise
// zone). Idempotent: a call's id is derived from (source, externalId), so the same record twice makes
// one call, and every other command is applied once by its commandId. An update to a closed call is
// recorded, never reopens it. A command that is malformed or cannot apply goes to `hub.intake.dlq`
// with the reason; transient failures are thrown so the record is retried.
import type { Producer } from 'kafkajs';
import type { Identity } from '../../platform/auth.ts';
import type { ConsumedRecord } from '../../platform/consumer.ts';
import { contract } from '../../platform/contracts.ts';
import { isUserError } from '../../platform/errors.ts';
import type { Logger } from '../../platform/logger.ts';
import { DISTRICT_ID } from '../../demo/district.ts';
import type { UnitDirectory } from '../../platform/unit-directory.ts';
import { satisfactionOf } from './lifecycle.ts';
import { type CallSource, OPEN_STATUSES, type Satisfaction } from './model.ts';
import type { OrderService } from './orders.ts';
import { type CallStore, stableCallId } from './store.ts';

export interface IntakeCommand {
  commandId: string;
  source: 'hotline' | 'sanfang' | 'petition' | 'enterprise' | 'citizen';
  externalId: string;
  kind: 'create_call' | 'update_call' | 'revoke_call' | 'rate_call' | 'issue_order' | 'close_order';
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
    citizen?: { name?: string; phone?: string };
    identityProtected?: boolean;
    attachments?: string[];
    receivedAt?: string;
    completeBy?: string;
  };
  update?: { action: 'note' | 'urge' | 'transfer' | 'extend' | 'accept'; note: string; completeBy?: string };
  rating?: { satisfaction: Satisfaction; contacted?: boolean; resolved?: boolean; comment?: string };
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
};

const STARS: Record<Satisfaction, number> = { VERY_SATISFIED: 5, SATISFIED: 4, BASIC: 3, UNSATISFIED: 1 };

const validateCommand = contract<IntakeCommand>('intake-command');

/** The call id a source record always maps to. */
export function sourceCallId(source: string, externalId: string): string {
  return stableCallId(`source:${source}:${externalId}`);
}

class Rejected extends Error {}

const unknownCall = (id: string) => new Rejected(`unknown call for this source record (${id})`);

export class IntakeProcessor {
  constructor(
    private readonly store: CallStore,
    private readonly orders: OrderService,
    private readonly directory: UnitDirectory,
    private readonly producer: Producer,
    private readonly dlqTopic: string,
    private readonly logger: Logger,
  ) {}

  async handle({ topic, partition, message }: ConsumedRecord): Promise<void> {
    const raw = message.value?.toString('utf8') ?? '';
    try {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        throw new Rejected('invalid JSON');
      }
      const checked = validateCommand(parsed);
      if (!checked.ok) throw new Rejected(`fails the intake contract: ${checked.reason}`);
      await this.apply(checked.value);
    } catch (err) {
      // Deliberate refusals (bad data, unknown unit, illegal transition) will never succeed on retry.
      if (!(err instanceof Rejected) && !isUserError(err)) throw err;
      const reason = err instanceof Error ? err.message : String(err);
      this.logger.warn({ topic, partition, offset: message.offset, reason }, 'intake command dead-lettered');
      await this.producer.send({
        topic: this.dlqTopic,
        messages: [
          {
            key: message.key,
            value: JSON.stringify({ reason, topic, partition, offset: message.offset, record: raw }),
            headers: { 'dlq-reason': reason.slice(0, 200) },
          },
        ],
      });
    }
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
        const call = command.call as NonNullable<IntakeCommand['call']>;
        await this.store.create(
          {
            title: call.title,
            description: call.description,
            category: call.category,
            itemCode: call.itemCode,
            priority: call.priority,
            source: SOURCES[command.source],
            sourceRef,
            originUnitId: this.route(call),
            location: call.location,
            address: call.address,
            citizen: call.citizen,
            identityProtected: call.identityProtected ?? command.source === 'petition',
            attachments: call.attachments,
            raisedBy: { subject: `${command.source}-connector`, unitId: DISTRICT_ID, role: 'service_account' },
            raisedAt: call.receivedAt ? new Date(call.receivedAt) : undefined,
            completeBy: call.completeBy ? new Date(call.completeBy) : undefined,
          },
          id,
        );
        return;
      }
      case 'update_call': {
        const update = command.update as NonNullable<IntakeCommand['update']>;
        const updated = await this.store.system(
          id,
          (call) => {
            const open = OPEN_STATUSES.includes(call.status);
            const completeBy = update.completeBy ? new Date(update.completeBy) : undefined;
            return {
              // A source may move its own deadline while the call is open; a closed call only records it.
              set: open && update.action === 'extend' && completeBy ? { deadlines: { ...call.deadlines, complete: completeBy } } : {},
              entry: { action: `source_${update.action}`, note: update.note, attachments: [] },
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
          await this.store.act(id, { kind: 'withdraw', reason: command.reason ?? '来源系统撤回' }, this.identity(command), {
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

  /** The receiving unit, or routing by place (就近派单) to the grid that holds the point. */
  private route(call: NonNullable<IntakeCommand['call']>): string {
    if (call.unitId) {
      const unit = this.directory.get(call.unitId);
      if (!unit) throw new Rejected(`unknown unit ${call.unitId}`);
      if (unit.kind === 'grid' || unit.kind === 'community' || unit.kind === 'street') return unit.id;
      if (!call.location) throw new Rejected(`unit ${call.unitId} (${unit.kind}) cannot receive calls and no location was given`);
    }
    if (call.location) {
      const grid = this.directory.gridAt(call.location);
      if (!grid) throw new Rejected(`location ${call.location.lng},${call.location.lat} is outside every grid of the district`);
      return grid.id;
    }
    throw new Rejected('neither a receiving unit nor a location to route by');
  }
}
