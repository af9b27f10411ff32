/**
 * Loads the access catalog from its YAML file: hashes the exact bytes (so a request can prove which policy it
 * was decided under), reads the YAML keeping line numbers, lets the domain validate it, and raises one
 * `CATALOG.INVALID` error that lists every problem as `file:line: message`.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ncrontabProblem } from '../../config/config';
import { DomainError } from '../../domain/domain-error';
import {
  CATALOG_PROBLEM,
  catalogInvalidError,
  duplicateKeyProblem,
  type CatalogProblem,
  type LocatedCatalogProblem,
} from '../../domain/catalog/catalog.errors';
import type { Catalog, CatalogStamp } from '../../domain/catalog/catalog.model';
import { validateCatalog, type CatalogDirectory } from '../../domain/catalog/catalog.validator';
import { readYaml } from './yaml-document.reader';

/** A set of ids, or a function that answers whether one exists (e.g. backed by a directory snapshot). */
export type KnownIds = ReadonlySet<string> | ((id: string) => boolean);

/** What to check the catalog's references against, and how to name the file in messages. */
export interface LoadCatalogOptions {
  /**
   * Group object ids that exist. NB. Without it only the GUID shape is checked, so a typo in a group id
   * is found at the first grant instead of at load; pass it whenever the directory is reachable.
   */
  readonly knownGroups?: KnownIds;
  /** Users (object ids and/or UPNs) that exist; checked for fallbacks and named approvers when given. */
  readonly knownUsers?: KnownIds;
  /** The name used in messages; defaults to the path relative to the working directory. */
  readonly displayName?: string;
}

/** A validated catalog and the stamp a request records. */
export interface LoadedCatalog {
  readonly catalog: Catalog;
  readonly stamp: CatalogStamp;
  /** The name the file was reported under. */
  readonly file: string;
  /** The text that was validated (what the last good catalog keeps). */
  readonly text: string;
}

/** SHA-256 of the bytes, lower-case hex: the catalog's content hash. */
export function catalogContentHash(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function lookup(ids: KnownIds | undefined, caseInsensitive: boolean): ((id: string) => boolean) | undefined {
  if (ids === undefined) return undefined;
  if (typeof ids === 'function') return ids;
  // GUIDs are compared lower-case; UPNs are case-insensitive in Entra.
  const lower = new Set([...ids].map((i) => i.toLowerCase()));
  return (id) => (caseInsensitive ? lower.has(id.toLowerCase()) : ids.has(id));
}

/**
 * Validates catalog bytes already in memory (the file loader's core, and what tests call). Throws a
 * DomainError `CATALOG.INVALID` listing every problem with `file:line:`.
 */
export function parseCatalog(
  bytes: Uint8Array | string,
  file: string,
  options: LoadCatalogOptions = {},
): LoadedCatalog {
  const text = typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8');
  const doc = readYaml(text);
  const locate = (p: CatalogProblem, at = doc.positionOf(p.path)): LocatedCatalogProblem => ({
    ...p,
    file,
    line: at.line,
    column: at.column,
  });

  if (doc.syntaxErrors.length > 0) {
    throw catalogInvalidError(
      file,
      doc.syntaxErrors.map((e) => ({
        code: CATALOG_PROBLEM.SYNTAX,
        path: [],
        message: `YAML syntax: ${e.message}. Check the indentation and quoting on this line or the one before it.`,
        fix: 'Check the indentation and quoting on this line or the one before it.',
        file,
        line: e.line,
        column: e.column,
      })),
    );
  }

  const problems: LocatedCatalogProblem[] = doc.duplicateKeys.map((d) =>
    locate(duplicateKeyProblem(d.path, d.first.line), d.at),
  );
  const directory: CatalogDirectory = {
    knownGroup: lookup(options.knownGroups, true),
    knownUser: lookup(options.knownUsers, true),
    scheduleProblem: ncrontabProblem,
  };
  const result = validateCatalog(doc.value, directory);
  if (!result.ok) problems.push(...result.problems.map((p) => locate(p)));
  if (problems.length > 0 || !result.ok) throw catalogInvalidError(file, problems);

  return {
    catalog: result.catalog,
    stamp: {
      catalogId: result.catalog.id,
      version: result.catalog.version,
      contentHash: catalogContentHash(bytes),
    },
    file,
    text,
  };
}

/** Places problems found by value path (e.g. by a directory check) on their file lines. */
export function locateCatalogProblems<P extends CatalogProblem>(
  text: string,
  file: string,
  problems: readonly P[],
): (P & LocatedCatalogProblem)[] {
  const doc = readYaml(text);
  return problems.map((p) => {
    const at = doc.positionOf(p.path);
    return { ...p, file, line: at.line, column: at.column };
  });
}

/**
 * Reads and validates the catalog file. Throws `CATALOG.NOT_FOUND` when the file cannot be read and
 * `CATALOG.INVALID` when it is not a valid catalog.
 */
export async function loadCatalogFile(
  filePath: string,
  options: LoadCatalogOptions = {},
): Promise<LoadedCatalog> {
  const relative = path.relative(process.cwd(), filePath);
  const file =
    options.displayName ?? (relative.startsWith('..') || path.isAbsolute(relative) ? filePath : relative);
  let bytes: Buffer;
  try {
    bytes = await readFile(filePath);
  } catch (err) {
    throw new DomainError(
      'CATALOG.NOT_FOUND',
      `${file}: cannot read the access catalog (${(err as NodeJS.ErrnoException).code ?? String(err)}). Check the path in the configuration.`,
      { file },
    );
  }
  return parseCatalog(bytes, file, options);
}
