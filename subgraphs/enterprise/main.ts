// The enterprise zone subgraph (企业服务专区): `node --import tsx scripts/service.ts enterprise`.
import { loadConfig } from '../../platform/config.ts';
import { enterpriseConfig, startEnterprise } from './app.ts';

export async function main(): Promise<void> {
  const app = await startEnterprise(loadConfig(enterpriseConfig));
  app.service.handleSignals();
}
