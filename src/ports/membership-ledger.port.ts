/**
 * Where the membership ledger is kept: one row per (group, user) Attest has touched, guarded by an ETag so
 * two writers (a grant starting while another ends, the reconciler) never overwrite each other unseen; and the
 * reconciler's drift findings and per-group sweep state.
 */
import type { MembershipEntry } from '../domain/ledger/membership-ledger';

/** A ledger row as read, with the version to write it back against. */
export interface VersionedEntry {
  entry: MembershipEntry;
  /** Opaque version; undefined for an entry that is not stored yet. */
  etag?: string;
}

/** A drift finding: a membership nobody at Attest granted, or a claimed one that was removed outside. */
export interface DriftFinding {
  groupId: string;
  userId: string;
  kind: 'added-outside' | 'removed-outside';
  /** When the reconciler found it (ISO). */
  foundAt: string;
  /** The requests whose grants claimed a membership removed outside Attest. */
  requestIds?: string[];
}

/** The membership ledger. */
export interface MembershipLedger {
  /** The row for (group, user), or an empty one (etag undefined) when Attest never touched it. */
  get(groupId: string, userId: string): Promise<VersionedEntry>;
  /**
   * Writes the row if it is still at `etag` (inserts when `etag` is undefined). Returns false, writing
   * nothing, when someone else wrote it first: read again and decide again.
   */
  put(entry: MembershipEntry, etag: string | undefined): Promise<boolean>;
  /**
   * Inserts rows not stored yet, many at a time where the store can (the reconciler's baseline of a large
   * group); returns the entries that were already stored, unwritten: read those and decide again. Optional:
   * callers fall back to {@link put} one row at a time.
   */
  insertMany?(entries: MembershipEntry[]): Promise<MembershipEntry[]>;
  /** Every row of a group. */
  byGroup(groupId: string): Promise<MembershipEntry[]>;
  /** Every row of a user (every group Attest knows them in). */
  byUser(userId: string): Promise<MembershipEntry[]>;
  /** Rows with removals still owed, oldest first. */
  owedRemovals(): Promise<MembershipEntry[]>;
}

/** The reconciler's memory per group and its findings. */
export interface ReconcileStore {
  /** The group's sweep state: whether it had its baseline, and the delta link of its batch. */
  groupState(groupId: string): Promise<{ baselinedAt?: string } | undefined>;
  markBaselined(groupId: string, at: string): Promise<void>;
  /** The delta link saved for a batch of groups (key: the batch's sorted group ids, hashed by the caller). */
  deltaLink(batchKey: string): Promise<string | undefined>;
  saveDeltaLink(batchKey: string, link: string | undefined): Promise<void>;
  /**
   * The Attest admins as last read from the directory, so the overdue-revocations digest still reaches them
   * while the directory is down (exactly when revocations are overdue).
   */
  knownAdmins(): Promise<string[] | undefined>;
  saveKnownAdmins(ids: string[]): Promise<void>;
  /** Records a finding (idempotent per group, user, kind and day). */
  addFinding(finding: DriftFinding): Promise<void>;
  findings(filter?: { groupId?: string; userId?: string }): Promise<DriftFinding[]>;
}
