// Runs the party-map subgraph and the gateway in-process for a test file, on its own databases and
// topics (the calls subgraph: ./calls.ts).
import { gatewayConfig, startGateway } from '../../gateway/app.ts';
import { loadConfig } from '../../platform/config.ts';
import { buildPartyMap, partyMapConfig, type PartyMap } from '../../subgraphs/party-map/app.ts';
import type { TestScope } from './isolation.ts';

/** The party-map subgraph with the demo district, listening at `url`. */
export async function startTestPartyMap(scope: TestScope): Promise<{ partyMap: PartyMap; url: string }> {
  const partyMap = await buildPartyMap(loadConfig(partyMapConfig, { ...scope.env, PORT: '0', DEMO_DATA: '1', PARTY_MAP_DB: scope.database('map') }));
  return { partyMap, url: await partyMap.service.listen() };
}

/** The subgraphs a test gateway joins, by their services' base URLs. */
export interface TestSubgraphs {
  calls?: string;
  partyMap?: string;
  evaluation?: string;
  enterprise?: string;
}

/** A gateway over `subgraphs`, with any other configuration in `env`. */
export function startTestGateway(scope: TestScope, subgraphs: TestSubgraphs, env: Record<string, string> = {}) {
  const urls: Record<string, string> = {};
  if (subgraphs.calls) urls.CALLS_URL = `${subgraphs.calls}/graphql`;
  if (subgraphs.partyMap) urls.PARTY_MAP_URL = `${subgraphs.partyMap}/graphql`;
  if (subgraphs.evaluation) urls.EVALUATION_URL = `${subgraphs.evaluation}/graphql`;
  if (subgraphs.enterprise) urls.ENTERPRISE_URL = `${subgraphs.enterprise}/graphql`;
  return startGateway(loadConfig(gatewayConfig, { ...scope.env, PORT: '0', ...urls, ...env }));
}
