// References to another subgraph's entities, by key: what a subgraph holds and returns for a type it
// does not own (the gateway fetches the rest from the owner). Subgraphs map those GraphQL types to
// these in their codegen.json, so the generated resolver types check against them.

/** A unit (owned by the party-map subgraph). */
export interface UnitRef {
  __typename?: 'Unit';
  id: string;
}

/** A call (owned by the calls subgraph). */
export interface CallRef {
  __typename?: 'Call';
  id: string;
}
