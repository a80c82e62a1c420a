// The gateway: `node --import tsx scripts/service.ts gateway`.
import { loadConfig } from '../platform/config.ts';
import { gatewayConfig, startGateway } from './app.ts';

export async function main(): Promise<void> {
  const app = await startGateway(loadConfig(gatewayConfig));
  app.service.handleSignals();
}
