// What the resolvers pass around for GraphQL types that are not stored documents (codegen.json maps
// them, so the generated resolver types check against these): references to other subgraphs'
// entities, and the apartment search page.
import type { Page } from './connections.ts';
import type { ApartmentDoc } from './model.ts';

/** A unit (party-map subgraph): its key; this subgraph adds its enterprises and figures. */
export interface UnitRef {
  __typename?: 'Unit';
  id: string;
}

/** A call (calls subgraph): its key; this subgraph adds the demand it came from. */
export interface CallRef {
  __typename?: 'Call';
  id: string;
}

/** A page of the apartment search. */
export interface ApartmentPage {
  edges: Array<{ cursor: string; node: ApartmentDoc; distanceMeters: number | null }>;
  pageInfo: Page<ApartmentDoc>['pageInfo'];
  /** Counted only when asked for: graphql-js calls a field that is a function. */
  totalCount: () => number;
}
