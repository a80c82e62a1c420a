// A stock @apollo/gateway, the comparison of `npm run bench:gateway`: Apollo Server's standalone
// HTTP server and ApolloGateway on the same composed supergraph, with nothing added but passing the
// caller's token on to the subgraphs (they refuse requests without one).
// `SUPERGRAPH_PATH=… CALLS_URL=… PARTY_MAP_URL=… PORT=… tsx bench/default-gateway.ts`
import { readFileSync } from 'node:fs';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

process.env.APOLLO_TELEMETRY_DISABLED = '1';
const urls: Record<string, string | undefined> = {
  calls: process.env.CALLS_URL,
  evaluation: process.env.EVALUATION_URL,
  'party-map': process.env.PARTY_MAP_URL,
  enterprise: process.env.ENTERPRISE_URL,
};
const gateway = new ApolloGateway({
  supergraphSdl: readFileSync(process.env.SUPERGRAPH_PATH ?? 'schemas/supergraph.graphql', 'utf8'),
  buildService: ({ name, url }) =>
    new RemoteGraphQLDataSource<{ authorization: string }>({
      url: urls[name] ?? url,
      willSendRequest: ({ request, context }) => {
        request.http?.headers.set('authorization', context.authorization ?? '');
      },
    }),
});
const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, {
  listen: { port: Number(process.env.PORT ?? 4100), host: '127.0.0.1' },
  context: async ({ req }) => ({ authorization: req.headers.authorization ?? '' }),
});
console.log(`default gateway ready at ${url}`);
