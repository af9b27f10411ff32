/**
 * `attest catalog check [--file PATH]`: loads the access catalog and checks it against the directory now —
 * syntax and schema, then every group and person it names, and whether Graph can change the groups behind its
 * roles. Exit 0 when it can be published (warnings allowed), 1 with `file:line: problem` lines when not. The
 * command to run when a catalog is published; the host itself only runs the directory part in the background.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { graphAccessFor, type GraphAccess } from '../adapters/graph/graph-access';
import { createGraphClient } from '../adapters/graph/graph-client';
import { GraphDirectory } from '../adapters/graph/graph-directory';
import { loadCatalogFile, type LoadedCatalog } from '../adapters/catalog/catalog-file.loader';
import { loadConfigFromProcess, type AttestConfig } from '../config/config';
import { DomainError } from '../domain/domain-error';
import { checkCatalogAgainstDirectory, formatCheckProblem, isTransient } from '../functions/catalog-check';
import { startGraphSimulator } from '../local/graph-sim/graph-sim';
import { liveHost } from '../local/local-host';
import { valueOption, type CliContext } from './cli-program';

/** What `attest catalog check` was given. */
export interface CatalogCheckOptions {
  /** The catalog file; ATTEST_CATALOG_PATH when absent. */
  file?: string;
  /** The data folder whose Graph simulator (or a fresh one on it) stands in for the directory. */
  dataDir: string;
}

/** `attest catalog check`; the `catalog` group takes further subcommands the same way. */
export function registerCatalogCommand(program: Command, cli: CliContext): void {
  const catalog = program
    .command('catalog')
    .usage('<subcommand>')
    .description('the access catalog: `attest catalog check`');
  catalog
    .command('check')
    .usage('[--file PATH]')
    .description(
      'load the catalog (default ATTEST_CATALOG_PATH) and check its groups and people against the directory now; exit 1 with file:line problems (run it when publishing a catalog)',
    )
    .addOption(valueOption('--file <path>', 'the catalog file (default ATTEST_CATALOG_PATH)'))
    .action(
      cli.action<{ file?: string }>(({ options, dataDir, out }) =>
        runCatalogCommand({ file: options.file, dataDir }, loadConfigFromProcess('local'), out),
      ),
    );
}

/** Runs `attest catalog …`; resolves to the exit code. */
export async function runCatalogCommand(
  args: CatalogCheckOptions,
  config: AttestConfig,
  out: (line: string) => void,
): Promise<number> {
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
