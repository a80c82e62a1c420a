// The connectors service (12345 hotline, 三防, 信访): `node --import tsx connectors/main.ts`, or
// `node --import tsx scripts/service.ts connectors` once listed in scripts/services.ts.
import { pathToFileURL } from 'node:url';
import { loadConfig } from '../platform/config.ts';
import { Service } from '../platform/service.ts';
import { connectorsConfig, startConnectors } from './app.ts';

export async function main(): Promise<void> {
  Service.handleSignalsOnListen();
  const app = await startConnectors(loadConfig(connectorsConfig));
  app.service.handleSignals();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(`connectors: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
