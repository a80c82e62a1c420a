// `npm run infra:install | infra:up | infra:down | infra:status`: the local Kafka and FerretDB, without Docker.
import { down, installFerretDB, installKafka, status, up } from './local.ts';

const command = process.argv[2];
try {
  if (command === 'install') {
    installKafka(console.log);
    installFerretDB(console.log);
  } else if (command === 'up') await up();
  else if (command === 'down') await down();
  else if (command === 'status') {
    const s = await status();
    console.log(`kafka: ${s.kafka ? 'answers' : 'down'}  mongodb: ${s.mongodb ? 'answers' : 'down'}`);
    process.exitCode = s.kafka && s.mongodb ? 0 : 1;
  } else {
    console.error('usage: tsx infra/cli.ts install|up|down|status');
    process.exitCode = 2;
  }
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
}
