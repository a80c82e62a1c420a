import { describe, expect, it } from 'vitest';
import { isQueryDocument } from './sharing.ts';

describe('isQueryDocument (which subgraph fetches may be shared)', () => {
  it('knows a query plan\'s query, also in shorthand', () => {
    expect(isQueryDocument('query Nested__calls__0 { calls(first: 20) { edges { node { id } } } }')).toBe(true);
    expect(isQueryDocument('{ calls(first: 20) { edges { node { id } } } }')).toBe(true);
  });

  it('never takes a mutation, a subscription, two operations or broken text for a query', () => {
    expect(isQueryDocument('mutation Raise__calls__0 { raiseCall(input: {}) { call { id } } }')).toBe(false);
    expect(isQueryDocument('subscription { callUpdated { id } }')).toBe(false);
    expect(isQueryDocument('query A { a } mutation B { b }')).toBe(false);
    expect(isQueryDocument('query {')).toBe(false);
  });
});
