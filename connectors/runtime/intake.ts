// Intake commands (schemas/events/intake-command.schema.json) as the connectors write them to
// hub.intake: keyed by source and external id, so one source record's commands stay in order, and
// checked against the contract before they leave, so a record the hub would refuse is dead-lettered
// here, next to its original. Nothing personal goes out in clear: the contact and the texts as written
// are sealed for the calls subgraph, every free text is scrubbed (platform/personal-data.ts).
import { contract } from '../../platform/contracts.ts';
import { sealIntakeCommand } from '../../platform/personal-data.ts';
import type { Keyring } from '../../platform/personal-keys.ts';
import type { IntakeCommand } from '../../subgraphs/calls/intake.ts';
import { type Output, Rejected } from '../../platform/source-record.ts';
import type { TraceHeaders } from './trace.ts';

export type { IntakeCommand };

const validateCommand = contract<IntakeCommand>('intake-command');

/** The command on hub.intake, sealed; `known` are the record's own personal values to mask wherever they appear. */
export function intakeOutput(topic: string, command: IntakeCommand, trace: TraceHeaders, keys: Keyring, known: readonly (string | undefined)[] = []): Output {
  const withTrace = { ...sealIntakeCommand(command, keys, known), traceparent: trace.traceparent };
  const checked = validateCommand(withTrace);
  if (!checked.ok) throw new Rejected('schema', `maps to an intake command the hub would refuse: ${checked.reason}`);
  return { topic, key: `${command.source}:${command.externalId}`, value: JSON.stringify(withTrace) };
}

/** The first `max` characters of a text, for titles made from content. */
export function clip(text: string, max: number): string {
  const chars = [...text.replace(/\s+/g, ' ').trim()];
  return chars.length <= max ? chars.join('') : `${chars.slice(0, max - 1).join('')}…`;
}
