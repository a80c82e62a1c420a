// Event contracts: JSON Schemas in schemas/events/, so partner systems in any language validate the
// same records the hub does.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const eventsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'schemas', 'events');
const ajv = addFormats(new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true }));

export type Validation<T> = { ok: true; value: T } | { ok: false; reason: string };

function describe(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .slice(0, 5)
    .map((e) => `${e.instancePath || '(record)'} ${e.message ?? 'is invalid'}`)
    .join('; ');
}

/** A validator for `schemas/events/<name>.schema.json`. */
export function contract<T>(name: string): (record: unknown) => Validation<T> {
  const schema = JSON.parse(readFileSync(join(eventsDir, `${name}.schema.json`), 'utf8')) as object;
  const validate = ajv.compile<T>(schema);
  return (record) => (validate(record) ? { ok: true, value: record } : { ok: false, reason: describe(validate.errors) });
}
