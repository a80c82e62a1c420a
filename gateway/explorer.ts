// A GraphQL explorer (GraphiQL) at /explorer, served entirely from this gateway's own files:
// government networks often have no internet, so nothing may load from a CDN. Development only:
// production turns introspection off, which the explorer needs.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';

const require = createRequire(import.meta.url);

/** The files the page loads, by the name it asks for: React 18 and GraphiQL's browser bundles. */
const ASSETS: Record<string, { pkg: string; file: string; type: string }> = {
  'react.js': { pkg: 'react', file: 'umd/react.production.min.js', type: 'text/javascript' },
  'react-dom.js': { pkg: 'react-dom', file: 'umd/react-dom.production.min.js', type: 'text/javascript' },
  'graphiql.js': { pkg: 'graphiql', file: 'graphiql.min.js', type: 'text/javascript' },
  'graphiql.css': { pkg: 'graphiql', file: 'graphiql.min.css', type: 'text/css' },
};

// The browser bundles are not in the packages' exports: find them beside each package.json.
const fileOf = (pkg: string, file: string) => join(dirname(require.resolve(`${pkg}/package.json`)), file);

const PAGE = `<!doctype html>
<html lang="zh-CN">
<head>
  <meta charset="utf-8">
  <title>呼应 Huying — GraphQL explorer</title>
  <link rel="stylesheet" href="/explorer/assets/graphiql.css">
  <style>body { margin: 0; height: 100vh; } #explorer { height: 100vh; }</style>
</head>
<body>
  <div id="explorer"></div>
  <script src="/explorer/assets/react.js"></script>
  <script src="/explorer/assets/react-dom.js"></script>
  <script src="/explorer/assets/graphiql.js"></script>
  <script>
    const http = location.origin + '/graphql';
    const ws = http.replace(/^http/, 'ws');
    const fetcher = GraphiQL.createFetcher({ url: http, subscriptionUrl: ws });
    ReactDOM.createRoot(document.getElementById('explorer')).render(
      React.createElement(GraphiQL, {
        fetcher,
        shouldPersistHeaders: true,
        defaultHeaders: JSON.stringify({ authorization: 'Bearer (npm run token -- --unit changzhou --role street)' }, null, 2),
        defaultQuery: '# 呼应 Huying: put a token in Headers below, then run\\n{ callableItems { code category name } }\\n',
      }),
    );
  </script>
</body>
</html>`;

export function serveExplorer(app: FastifyInstance): void {
  const files = new Map(
    Object.entries(ASSETS).map(([name, { pkg, file, type }]) => [name, { body: readFileSync(fileOf(pkg, file)), type }]),
  );
  app.get('/explorer', async (_request, reply) => reply.type('text/html; charset=utf-8').send(PAGE));
  app.get<{ Params: { name: string } }>('/explorer/assets/:name', async (request, reply) => {
    const file = files.get(request.params.name);
    if (!file) return reply.code(404).send({ error: 'no such asset' });
    return reply.type(file.type).header('cache-control', 'public, max-age=86400').send(file.body);
  });
}
