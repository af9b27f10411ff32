/**
 * How the reconciler splits the catalog's groups into delta batches. Graph's `groups/delta` `$filter` takes
 * at most 50 group ids, and a delta link belongs to exactly the set of groups it was started with, so each
 * batch is keyed by its set: a batch whose set changed (a role added to the catalog) has no link under its
 * new key and is swept in full.
 *
 * NB. Pure and deterministic: the orchestration and its activities must agree on the batches.
 */
import type { Catalog } from '../catalog/catalog.model';

/** Graph's limit on group ids in one `groups/delta` `$filter`. */
export const DELTA_GROUPS_PER_ROUND = 50;

/** The groups behind the catalog's roles: lower-case, without duplicates, sorted. */
export function catalogRoleGroups(catalog: Catalog): string[] {
  const ids = new Set<string>();
  for (const app of catalog.apps) for (const role of app.roles) ids.add(role.groupId.toLowerCase());
  return [...ids].sort();
}

/**
 * The batches of at most {@link DELTA_GROUPS_PER_ROUND} groups, in order. NB. Sorted and chunked, so a group
 * added to the catalog shifts the batches after it: those are swept in full once, which costs one read of
 * their members, never a wrong finding.
 */
export function reconcileBatches(groupIds: readonly string[]): string[][] {
  const sorted = [...new Set(groupIds.map((g) => g.toLowerCase()))].sort();
  const out: string[][] = [];
  for (let i = 0; i < sorted.length; i += DELTA_GROUPS_PER_ROUND) {
    out.push(sorted.slice(i, i + DELTA_GROUPS_PER_ROUND));
  }
  return out;
}

/** 32-bit FNV-1a of a string, as 8 hex digits. */
function fnv1a(text: string, seed: number): string {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/**
 * The key of a batch's delta link: the number of groups, the first id and two independent 32-bit hashes of
 * the sorted set, so two different sets practically never share a key (and a short key fits a RowKey).
 */
export function batchKey(groupIds: readonly string[]): string {
  const sorted = [...new Set(groupIds.map((g) => g.toLowerCase()))].sort();
  const text = sorted.join(',');
  return `${sorted.length}-${sorted[0] ?? 'none'}-${fnv1a(text, 0x811c9dc5)}${fnv1a(text, 0x01000193)}`;
}
