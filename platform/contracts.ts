// Event contracts: JSON Schemas in schemas/events/, so partner systems in any language validate the
// same records the hub does.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
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

const compiled = new Map<string, ValidateFunction>();

/** A validator for `schemas/events/<name>.schema.json` (compiled once per process: ajv keys schemas by $id). */
export function contract<T>(name: string): (record: unknown) => Validation<T> {
  let validate = compiled.get(name);
  if (!validate) {
    const schema = JSON.parse(readFileSync(join(eventsDir, `${name}.schema.json`), 'utf8')) as object;
    validate = ajv.compile(schema);
    compiled.set(name, validate);
  }
  const check = validate;
  return (record) => (check(record) ? { ok: true, value: record as T } : { ok: false, reason: describe(check.errors) });
}
