import { type Logger, pino } from 'pino';
import { PERSONAL_KEYS, scrubText } from './personal-data.ts';

export type { Logger } from 'pino';

// Redact personal keys at any of the first three levels of a logged object.
const redactPaths = PERSONAL_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);

/**
 * JSON logs (pino). Personal data never reaches them: known keys are redacted, and phone and ID numbers
 * inside messages are masked.
 */
export function createLogger(service: string, level = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      name: service,
      level,
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactPaths, censor: '[redacted]' },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((arg) => (typeof arg === 'string' ? scrubText(arg) : arg));
          return method.apply(this, scrubbed as Parameters<typeof method>);
        },
      },
      serializers: {
        // Only the path of a request: query strings can carry GraphQL variables with personal data.
        req: (req: { id?: string; method?: string; url?: string }) => ({
          id: req.id,
          method: req.method,
          path: req.url?.split('?')[0],
        }),
        err: serializeError,
      },
    },
    destination,
  );
}

/**
 * An error as logged: its message and stack scrubbed, its other fields only where they are plain
 * values. A driver's bulk write error carries every failed statement's document or update (`writeErrors[].err.op`,
 * `result`): a call with its citizen in clear, a call copy as BSON. Of those only each failure's index
 * and code are kept.
 */
function serializeError(err: unknown): Record<string, unknown> {
  const serialized = pino.stdSerializers.err(err as Error) as unknown as Record<string, unknown>;
  const logged: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(serialized)) {
    if (typeof value === 'string') logged[key] = scrubText(value);
    else if (typeof value === 'number' || typeof value === 'boolean') logged[key] = value;
    else if (key === 'writeErrors' && Array.isArray(value)) {
      logged.writeErrors = value.map((e: { index?: unknown; code?: unknown; err?: { index?: unknown; code?: unknown } }) => ({ index: e.index ?? e.err?.index, code: e.code ?? e.err?.code }));
    } else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) logged[key] = value.map((v: string) => scrubText(v));
    else if (key === 'cause' && value && typeof value === 'object') logged.cause = serializeError(value);
  }
  return logged;
}
