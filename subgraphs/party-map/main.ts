// The party-map subgraph (党建地图): `node --import tsx scripts/service.ts party-map`.
import { loadConfig } from '../../platform/config.ts';
import { buildPartyMap, partyMapConfig } from './app.ts';

export async function main(): Promise<void> {
  const config = loadConfig(partyMapConfig);
  const { service } = await buildPartyMap(config);
  service.handleSignals();
  await service.listen();
}
