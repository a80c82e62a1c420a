// The Open311 GeoReport v2 service: `node --import tsx scripts/service.ts open311` (port 4006).
import { loadConfig } from '../../platform/config.ts';
import { open311Config, startOpen311 } from './app.ts';

export async function main(): Promise<void> {
  const app = await startOpen311(loadConfig(open311Config));
  app.service.handleSignals();
}
