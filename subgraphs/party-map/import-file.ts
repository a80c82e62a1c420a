// Imports a GeoJSON file of grids or facilities straight into the party-map database, for sets too
// big for the API (up to 50,000 features, 64 MiB):
//
//   npx tsx subgraphs/party-map/import-file.ts --kind grids [--crs GCJ02] [--dry-run] grids.geojson
//
// The same checks as the mutations, feature by feature; prints the report as JSON and exits 1 when
// some features were rejected, 2 when the file as a whole was. Running services see the change
// within GEO_REFRESH_MS (they poll the revision), and publish the unit changes on hub.units.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { type BaseConfig, baseConfig, loadConfig } from '../../platform/config.ts';
import { isUserError } from '../../platform/errors.ts';
import { type Logger, createLogger } from '../../platform/logger.ts';
import { connectMongo } from '../../platform/mongo.ts';
import { DATABASE } from './app.ts';
import { Directory } from './directory.ts';
import { type Crs, parseCrsName } from './geo/crs.ts';
import { FILE_LIMITS, type ImportReport, importFacilities, importGrids } from './import.ts';
import { createModels } from './models.ts';

export interface FileImportOptions {
  kind: 'grids' | 'facilities';
  path: string;
  crs: Crs;
  dryRun: boolean;
  dbName?: string;
  logger?: Logger;
}

export async function importFile(config: Pick<BaseConfig, 'MONGODB_URI'>, options: FileImportOptions): Promise<ImportReport> {
  const text = await readFile(options.path, 'utf8');
  const conn = await connectMongo(config, options.dbName ?? DATABASE);
  try {
    const models = createModels(conn);
    const directory = new Directory({ models, logger: options.logger ?? createLogger('party-map-import', 'warn'), pollMs: 0 });
    await directory.refresh();
    const run = options.kind === 'grids' ? importGrids : importFacilities;
    return await run({ models, directory }, text, { crs: options.crs, dryRun: options.dryRun, limits: FILE_LIMITS });
  } finally {
    await conn.close();
  }
}

async function cli(): Promise<number> {
  const { values, positionals } = parseArgs({
    options: { kind: { type: 'string' }, crs: { type: 'string', default: 'WGS84' }, 'dry-run': { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  const crs = parseCrsName(values.crs);
  const path = positionals[0];
  if ((values.kind !== 'grids' && values.kind !== 'facilities') || !crs || !path || positionals.length !== 1) {
    console.error('usage: import-file.ts --kind grids|facilities [--crs WGS84|GCJ02|BD09] [--dry-run] <file.geojson>');
    if (values.crs && !crs) console.error(`未知坐标系 ${values.crs} (unknown coordinate system)`);
    return 2;
  }
  const config = loadConfig(baseConfig);
  try {
    const report = await importFile(config, { kind: values.kind, path, crs, dryRun: values['dry-run'] });
    console.log(JSON.stringify(report, null, 2));
    return report.rejected > 0 ? 1 : 0;
  } catch (err) {
    if (!isUserError(err)) throw err;
    console.error(err.message);
    return 2;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await cli();
}
