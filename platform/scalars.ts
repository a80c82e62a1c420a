// Custom scalars shared by the subgraphs.
import { GraphQLScalarType, Kind } from 'graphql';

function parseInstant(value: unknown): Date {
  const match = typeof value === 'string' ? /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.exec(value) : null;
  if (match) {
    const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
    const date = new Date(value as string);
    // The engine rolls 2026-02-30 over into March: a day the month does not have is refused.
    const real = new Date(Date.UTC(year, month - 1, day)).getUTCDate() === day;
    if (real && !Number.isNaN(date.getTime())) return date;
  }
  // A plain Error with a code, not a GraphQLError: graphql keeps a plain error as the originalError of
  // the variable or literal it refuses, so the code reaches the error formatter (BAD_USER_INPUT).
  throw Object.assign(new Error(`时间格式无效：${String(value)}，应为 ISO-8601，如 2026-06-19T10:30:00+08:00 (invalid DateTime)`), {
    extensions: { code: 'BAD_USER_INPUT' },
  });
}

/** An instant: ISO-8601 with an offset in, UTC ISO-8601 out. */
export const DateTime = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  serialize: (value) => (value instanceof Date ? value : new Date(value as string)).toISOString(),
  parseValue: parseInstant,
  parseLiteral: (ast) => parseInstant(ast.kind === Kind.STRING ? ast.value : undefined),
});
