// GraphQL Armor's limits, the same for the gateway (HTTP and graphql-ws) and for each subgraph, which
// can be reached directly: nesting depth, aliases, directives and estimated cost as validation rules;
// tokens counted by graphql's own parser (`parse(source, { maxTokens })`), so an over-long document
// is refused while it is read, as a 400, never an internal error.
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { GraphQLError, type ValidationContext, type ValidationRule } from 'graphql';
import type { BaseConfig } from './config.ts';

export type Limits = Pick<BaseConfig, 'MAX_DEPTH' | 'MAX_ALIASES' | 'MAX_TOKENS' | 'MAX_COST'>;

/** Directives per operation (Armor's own default is 50). */
export const MAX_DIRECTIVES = 50;

/** Armor's validation rules for these limits (tokens: see `parse`'s maxTokens). */
export function limitRules(limits: Limits): ValidationRule[] {
  // Refused as a validation failure (Armor's own report says BAD_USER_INPUT, which Apollo Server
  // overwrites but a subgraph would keep).
  const refuse = { propagateOnRejection: false, onReject: [(context: ValidationContext | null, error: GraphQLError) => {
    context?.reportError(new GraphQLError(error.message, { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }));
  }] };
  const { validationRules } = new ApolloArmor({
    maxDepth: { n: limits.MAX_DEPTH, ...refuse },
    maxAliases: { n: limits.MAX_ALIASES, ...refuse },
    maxTokens: { enabled: false },
    costLimit: { maxCost: limits.MAX_COST, ...refuse },
    maxDirectives: { n: MAX_DIRECTIVES, ...refuse },
    blockFieldSuggestion: { enabled: false },
  }).protect();
  return validationRules;
}

/**
 * A subgraph's own limits. A fetch the gateway plans from a client's operation wraps a part of it in
 * `_entities(…) { … on T }` and may spell out the client's fragments where it spread them, so a
 * subgraph allows one level and twice the tokens and cost more than the gateway lets a client send.
 */
export function subgraphLimits(limits: Limits): Limits {
  return { MAX_DEPTH: limits.MAX_DEPTH + 1, MAX_ALIASES: limits.MAX_ALIASES, MAX_TOKENS: limits.MAX_TOKENS * 2, MAX_COST: limits.MAX_COST * 2 };
}

/** graphql's parser refusal of a document over `maxTokens`. */
export const TOKEN_LIMIT_REFUSAL = /^Syntax Error: Document contains more tha[nt] (\d+) tokens/;

/** The refusal of a document over the token limit, as the other limits are refused. */
export function tokenLimitError(maxTokens: number | string): GraphQLError {
  return new GraphQLError(`查询过长：超过 ${maxTokens} 个记号 (Token limit of ${maxTokens} exceeded)`, {
    extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
  });
}

/** A validation message without graphql's field suggestions, which leak the schema (production). */
export function withoutSuggestions(message: string): string {
  return message.replace(/\s*Did you mean .+\?/g, '').trim();
}
