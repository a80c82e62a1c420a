// `npm run compose`: composes schemas/<subgraph>.graphql into schemas/supergraph.graphql (@apollo/composition).
// `npm run compose -- --check`: fails when composition reports errors or the committed file is stale (CI).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { SERVICES } from './services.ts';

const schemasDir = 'schemas';
const target = join(schemasDir, 'supergraph.graphql');

export function composeSupergraph(): { supergraphSdl?: string; errors: string[] } {
  const subgraphs = readdirSync(schemasDir)
    .filter((f) => f.endsWith('.graphql') && f !== 'supergraph.graphql')
    .sort()
    .map((file) => {
      const name = file.replace(/\.graphql$/, '');
      // The URL in the supergraph is the local default; the gateway takes each from its configuration.
      const port = SERVICES[name]?.port ?? 0;
      return { name, url: `http://127.0.0.1:${port}/graphql`, typeDefs: parse(readFileSync(join(schemasDir, file), 'utf8')) };
    });
  const result = composeServices(subgraphs);
  if (result.errors) return { errors: result.errors.map((e) => e.message) };
  return { supergraphSdl: result.supergraphSdl, errors: [] };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { supergraphSdl, errors } = composeSupergraph();
  if (errors.length > 0 || !supergraphSdl) {
    console.error(`composition failed:\n${errors.map((e) => `  - ${e}`).join('\n')}`);
    process.exit(1);
  }
  if (process.argv.includes('--check')) {
    const committed = readFileSync(target, 'utf8');
    if (committed !== supergraphSdl) {
      console.error(`${target} is stale: run \`npm run compose\` and commit the result`);
      process.exit(1);
    }
    console.log(`${target} is up to date`);
  } else {
    writeFileSync(target, supergraphSdl);
    console.log(`wrote ${target}`);
  }
}
