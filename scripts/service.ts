// Runs one hub service: `node --import tsx scripts/service.ts <name>` (the Docker image's entrypoint).
import { ConfigError } from '../platform/config.ts';
import { Service } from '../platform/service.ts';
import { SERVICES } from './services.ts';

const name = process.argv[2] ?? '';
const entry = SERVICES[name];
if (!entry) {
  console.error(`usage: scripts/service.ts <${Object.keys(SERVICES).join('|')}>`);
  process.exit(2);
}
process.env.PORT ??= String(entry.port);
// Graceful shutdown from the moment each service listens (before it joins its consumer groups).
Service.handleSignalsOnListen();
try {
  await (await entry.load()).main();
} catch (err) {
  // A configuration error is the operator's to fix: say what is wrong, without a stack trace.
  if (err instanceof ConfigError) {
    console.error(`${name}: ${err.message}`);
    process.exit(2);
  }
  console.error(`${name} failed to start:`, err);
  process.exit(1);
}
