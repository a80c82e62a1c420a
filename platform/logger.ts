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
        err: (err: unknown) => {
          const serialized = pino.stdSerializers.err(err as Error);
          if (serialized.message) serialized.message = scrubText(serialized.message);
          if (serialized.stack) serialized.stack = scrubText(serialized.stack);
          return serialized;
        },
      },
    },
    destination,
  );
}
