/**
 * `attest catalog check [--file PATH]`: loads the access catalog and checks it against the directory now —
 * syntax and schema, then every group and person it names, and whether Graph can change the groups behind its
 * roles. Exit 0 when it can be published (warnings allowed), 1 with `file:line: problem` lines when not. The
 * command to run when a catalog is published; the host itself only runs the directory part in the background.
 */
import path from 'node:path';
import { graphAccessFor, type GraphAccess } from '../adapters/graph/graph-access';
import { createGraphClient } from '../adapters/graph/graph-client';
import { GraphDirectory } from '../adapters/graph/graph-directory';
import { loadCatalogFile, type LoadedCatalog } from '../adapters/catalog/catalog-file.loader';
import type { AttestConfig } from '../config/config';
import { DomainError } from '../domain/domain-error';
import { checkCatalogAgainstDirectory, formatCheckProblem, isTransient } from '../functions/catalog-check';
import { startGraphSimulator } from '../local/graph-sim/graph-sim';
import { liveHost } from '../local/local-host';

/** The usage lines this command adds to `attest --help`. */
export const CATALOG_USAGE = [
  '  catalog check [--file PATH]',
  '                    load the catalog (default ATTEST_CATALOG_PATH) and check its groups and people against',
  '                    the directory now; exit 1 with file:line problems (run it when publishing a catalog)',
];

/** A usage mistake in `attest catalog`. */
export class CatalogUsageError extends Error {}

/** Parses `check [--file PATH] [--data DIR]` (the words after `catalog`). */
export function parseCatalogArgs(argv: string[]): { file?: string; dataDir: string } {
  let file: string | undefined;
  let dataDir = '.attest';
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const name = a.startsWith('--') && a.includes('=') ? a.slice(0, a.indexOf('=')) : a;
    if (name === '--file' || name === '--data') {
      const value = a === name ? argv[++i] : a.slice(name.length + 1);
      if (!value || value.startsWith('--')) throw new CatalogUsageError(`${name} needs a value`);
      if (name === '--file') file = value;
      else dataDir = value;
    } else if (a.startsWith('-')) throw new CatalogUsageError(`unknown option ${a}`);
    else positional.push(a);
  }
  if (positional.length !== 1 || positional[0] !== 'check')
    throw new CatalogUsageError(
      positional.length === 0
        ? 'catalog needs a subcommand: check'
        : `unknown: catalog ${positional.join(' ')}`,
    );
  return { file, dataDir };
}

/** Runs `attest catalog …`; resolves to the exit code. */
export async function runCatalogCommand(
  argv: string[],
  config: AttestConfig,
  out: (line: string) => void,
): Promise<number> {
  const args = parseCatalogArgs(argv);
  let loaded: LoadedCatalog;
  try {
    loaded = await loadCatalogFile(path.resolve(args.file ?? config.catalogPath));
  } catch (e) {
    if (e instanceof DomainError && e.code.startsWith('CATALOG.')) {
      out(e.message);
      out(`catalog check: FAILED (${e.code})`);
      return 1;
    }
    throw e;
  }
  const { catalog } = loaded;
  const roles = catalog.apps.reduce((n, a) => n + a.roles.length, 0);
  const reviews = catalog.reviews?.length ?? 0;
  out(
    `${loaded.file}: ${catalog.id} v${catalog.version} (${catalog.apps.length} apps, ${roles} roles, ${reviews} access review${reviews === 1 ? '' : 's'}) loads; checking it against the directory`,
  );

  const { graph, close } = await directoryAccess(config, args.dataDir);
  try {
    const directory = new GraphDirectory(
      createGraphClient({ baseUrl: graph.baseUrl, getToken: graph.getToken }),
    );
    const report = await checkCatalogAgainstDirectory(directory, loaded.text, loaded.file);
    for (const p of report.problems) out(formatCheckProblem(p));
    const errors = report.problems.filter((p) => p.severity === 'error').length;
    const warnings = report.problems.length - errors;
    const also = warnings ? `; ${warnings} warning${warnings === 1 ? '' : 's'}` : '';
    out(
      report.ok
        ? `catalog check: ok (${report.groups} groups, ${report.people} people exist${also})`
        : `catalog check: FAILED (${errors} problem${errors === 1 ? '' : 's'}${also})`,
    );
    return report.ok ? 0 : 1;
  } catch (e) {
    out(
      isTransient(e)
        ? `catalog check: FAILED, the directory did not answer: ${(e as Error).message}. Run it again when Microsoft Graph answers.`
        : `catalog check: FAILED (${e instanceof DomainError ? e.code : 'error'}): ${(e as Error).message}`,
    );
    return 1;
  } finally {
    await close();
  }
}

/**
 * Graph as configured; with the simulator, the one of the host serving `dataDir`, or else one started for this
 * command on the same data folder (same demo tenant).
 */
async function directoryAccess(
  config: AttestConfig,
  dataDir: string,
): Promise<{ graph: GraphAccess; close: () => Promise<void> }> {
  if (config.directory.mode === 'graph')
    return { graph: graphAccessFor(config.directory), close: async () => {} };
  const live = liveHost(dataDir)?.graph;
  if (live) return { graph: { baseUrl: live.url, getToken: async () => live.token }, close: async () => {} };
  const d = config.directory;
  const sim = await startGraphSimulator({
    port: 0,
    dataDir: path.resolve(dataDir),
    faults: {
      latencyMs: d.latencyMs,
      throttleRate: d.throttleRate,
      unavailableRate: d.unavailableRate,
      writeQuota: d.writeQuota,
    },
  });
  const token = sim.issueToken();
  return { graph: { baseUrl: sim.url, getToken: async () => token }, close: () => sim.close() };
}
