// What the resolvers pass around for GraphQL types that are not stored documents (codegen.json maps
// them, so the generated resolver types check against these); references to other subgraphs'
// entities are platform/entity-ref.ts.
import type { Page } from './connections.ts';
import type { ApartmentDoc } from './model.ts';

/** A page of the apartment search. */
export interface ApartmentPage {
  edges: Array<{ cursor: string; node: ApartmentDoc; distanceMeters: number | null }>;
  pageInfo: Page<ApartmentDoc>['pageInfo'];
  /** Counted only when asked for: graphql-js calls a field that is a function. */
  totalCount: () => number;
}
