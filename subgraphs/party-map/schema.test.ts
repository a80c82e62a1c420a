// The SDL composes into a supergraph (federation 2), alone and beside a subgraph that refers to units.
import { readFileSync } from 'node:fs';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { SDL_PATH } from './app.ts';

const partyMap = { name: 'party-map', url: 'http://127.0.0.1:4003/graphql', typeDefs: parse(readFileSync(SDL_PATH, 'utf8')) };

// How another subgraph points at a unit owned here: a stub entity it does not resolve itself.
const referrer = {
  name: 'referrer',
  url: 'http://127.0.0.1:4999/graphql',
  typeDefs: parse(`
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])
    type Unit @key(fields: "id", resolvable: false) { id: ID! }
    type PageInfo @shareable { hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String }
    type Case @key(fields: "id") { id: ID! handlingUnit: Unit! }
    type Query { case(id: ID!): Case }
  `),
};

describe('party-map SDL', () => {
  it('composes on its own', () => {
    const result = composeServices([partyMap]);
    expect(result.errors?.map((e) => e.message)).toBeUndefined();
  });

  it('composes beside a subgraph that refers to Unit by key, sharing PageInfo', () => {
    const result = composeServices([partyMap, referrer]);
    expect(result.errors?.map((e) => e.message)).toBeUndefined();
    expect(result.supergraphSdl).toContain('type Unit');
  });
});
