// The calls subgraph (呼应事项): `node --import tsx scripts/service.ts calls`.
import { loadConfig } from '../../platform/config.ts';
import { callsConfig, startCalls } from './app.ts';

export async function main(): Promise<void> {
  const app = await startCalls(loadConfig(callsConfig));
  app.service.handleSignals();
}
