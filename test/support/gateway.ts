// Runs the party-map subgraph and the gateway in-process for a test file, on its own databases and
// topics (the calls subgraph: ./calls.ts), or the whole hub at once (startTestHub).
import { gatewayConfig, startGateway } from '../../gateway/app.ts';
import { loadConfig } from '../../platform/config.ts';
import { enterpriseConfig, startEnterprise } from '../../subgraphs/enterprise/app.ts';
import { evaluationConfig, startEvaluation } from '../../subgraphs/evaluation/app.ts';
import { buildPartyMap, partyMapConfig, type PartyMap } from '../../subgraphs/party-map/app.ts';
import { startTestCalls } from './calls.ts';
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

/**
 * The four subgraphs (the enterprise zone with its demo data when asked) and a gateway over them;
 * `stop` shuts every one down. They start one after another: started side by side on a broker that
 * has just come up, two of them creating the same topics raced its metadata ("does not host this
 * topic-partition").
 */
export async function startTestHub(scope: TestScope, options: { enterpriseDemo?: boolean } = {}) {
  const calls = await startTestCalls(scope);
  const { partyMap, url: partyMapUrl } = await startTestPartyMap(scope);
  const evaluation = await startEvaluation(loadConfig(evaluationConfig, { ...scope.env, PORT: '0', EVALUATION_DB: scope.database('eval') }));
  const enterprise = await startEnterprise(
    loadConfig(enterpriseConfig, { ...scope.env, PORT: '0', ENTERPRISE_DB: scope.database('ent'), ...(options.enterpriseDemo && { DEMO_DATA: '1' }) }),
  );
  const urls = { calls: calls.url, partyMap: partyMapUrl, evaluation: evaluation.url, enterprise: enterprise.url };
  const gateway = await startTestGateway(scope, urls);
  return {
    calls,
    partyMap,
    evaluation,
    enterprise,
    gateway,
    urls,
    async stop() {
      await gateway.service.shutdown('test');
      for (const app of [calls, partyMap, evaluation, enterprise]) await app.service.shutdown('test');
    },
  };
}
