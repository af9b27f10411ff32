/**
 * The Graph simulator's durable state under `${dataDir}/graph-sim/`: the tenant and the issued tokens in
 * tenant.json (rewritten whole after every mutation, via a temp file and a rename so a crash never leaves
 * half a file), and every write request appended to writes.jsonl.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { demoTeamsApps, demoTenant, type SimTenant } from './demo-tenant';

/** One write request the simulator answered (also the line format of writes.jsonl). */
export interface GraphSimWrite {
  method: string;
  /** Path below the service root, e.g. `/groups/{id}/members/$ref`, without the query. */
  path: string;
  status: number;
  /** ISO date-time the simulator answered. */
  time: string;
  /** True when the write arrived inside a `$batch`. */
  batch?: boolean;
}

/** One membership change, in the order the simulator made them (the source of `groups/delta` rounds). */
export interface MembershipChange {
  /** Position in the log: 1, 2, 3 ... never reused, so a delta token can name "everything after n". */
  seq: number;
  groupId: string;
  kind: 'added' | 'removed' | 'groupDeleted';
  /** The user or group that joined or left; absent for `groupDeleted`. */
  memberId?: string;
}

/** One user change, in the order the simulator made them (the source of later `users/delta` rounds). */
export interface UserChange {
  /** Position in the same sequence as {@link MembershipChange}: one counter, so one token names both. */
  seq: number;
  userId: string;
  /** `updated`: a property changed (accountEnabled); `deleted`: the user was deleted (soft, as in Entra). */
  kind: 'updated' | 'deleted';
}

/** The change log behind delta tokens. */
interface DeltaState {
  /** Bumped to expire every delta token handed out so far (tokens carry the epoch they were issued in). */
  epoch: number;
  /** Highest `seq` used. */
  seq: number;
  log: MembershipChange[];
  /** Absent in state files written before users delta; read as empty. */
  userLog?: UserChange[];
}

interface StateFile {
  version: 1;
  tenant: SimTenant;
  /** Bearer tokens issued to clients; kept so a restarted simulator still accepts them. */
  issuedTokens: string[];
  /** Absent in state files written before delta support; read as an empty log. */
  delta?: DeltaState;
}

/**
 * NB. All I/O here is synchronous on purpose: each request's mutation and its save happen without another
 * request interleaving, so tenant.json always holds a state some request sequence produced.
 */
export class TenantStore {
  private constructor(
    private readonly dir: string,
    private readonly state: StateFile,
    private readonly log: GraphSimWrite[],
  ) {}

  /** Loads the state from `dir`, or seeds the demo tenant when there is none or `fresh` is set. */
  static open(dir: string, opts: { fresh: boolean; now: Date }): TenantStore {
    fs.mkdirSync(dir, { recursive: true });
    const tenantPath = path.join(dir, 'tenant.json');
    const writesPath = path.join(dir, 'writes.jsonl');
    if (opts.fresh) fs.rmSync(writesPath, { force: true });
    let state: StateFile | undefined;
    if (!opts.fresh && fs.existsSync(tenantPath)) {
      const parsed = JSON.parse(fs.readFileSync(tenantPath, 'utf8')) as Partial<StateFile>;
      if (parsed.version !== 1 || !parsed.tenant || !Array.isArray(parsed.issuedTokens)) {
        throw new Error(
          `Graph simulator: ${tenantPath} is not a simulator state file; start with --fresh to reseed`,
        );
      }
      state = parsed as StateFile;
      // State from before the org app catalog existed: the demo tenant's admin has published Attest since.
      state.tenant.teamsApps ??= demoTeamsApps();
    }
    const log = fs.existsSync(writesPath)
      ? fs
          .readFileSync(writesPath, 'utf8')
          .split('\n')
          .filter((line) => line.trim() !== '')
          .map((line) => JSON.parse(line) as GraphSimWrite)
      : [];
    const store = new TenantStore(
      dir,
      state ?? { version: 1, tenant: demoTenant(opts.now), issuedTokens: [] },
      log,
    );
    if (!state) store.save();
    return store;
  }

  /** The live tenant; mutate it, then call save(). */
  get tenant(): SimTenant {
    return this.state.tenant;
  }

  /**
   * Blocks (true) or allows (false) installing catalog apps for a user, as an app permission policy does;
   * false when it was already so. Throws for an unknown user.
   */
  setTeamsAppsBlocked(userId: string, blocked: boolean): boolean {
    const tenant = this.state.tenant;
    if (!tenant.users.some((u) => u.id === userId)) throw new Error(`Graph simulator: no user ${userId}`);
    const list = (tenant.teamsAppsBlockedFor ??= []);
    if (list.includes(userId) === blocked) return false;
    tenant.teamsAppsBlockedFor = blocked ? [...list, userId] : list.filter((u) => u !== userId);
    this.save();
    return true;
  }

  /** Whether this token was issued by this simulator (in this or an earlier run on the same data dir). */
  hasToken(token: string): boolean {
    return this.state.issuedTokens.includes(token);
  }

  /** Records a newly issued token and persists it. */
  addToken(token: string): void {
    this.state.issuedTokens.push(token);
    this.save();
  }

  /** Writes tenant.json atomically (temp file, then rename over the old one). */
  save(): void {
    const target = path.join(this.dir, 'tenant.json');
    const temp = `${target}.${process.pid}.tmp`;
    fs.writeFileSync(temp, JSON.stringify(this.state, null, 1));
    fs.renameSync(temp, target);
  }

  private get deltaState(): DeltaState {
    this.state.delta ??= { epoch: 0, seq: 0, log: [] };
    return this.state.delta;
  }

  /**
   * Adds a user or group to a group's direct members and logs the change; false when it was already there.
   * NB. Every membership change (routes, $batch, tests, admin seeding) goes through here or removeMember,
   * so `groups/delta` sees all of them.
   */
  addMember(groupId: string, memberId: string): boolean {
    const tenant = this.state.tenant;
    const group = tenant.groups.find((g) => g.id === groupId);
    if (!group) throw new Error(`Graph simulator: no group ${groupId}`);
    if (!tenant.users.some((u) => u.id === memberId) && !tenant.groups.some((g) => g.id === memberId))
      throw new Error(`Graph simulator: no user or group ${memberId} to add to group ${groupId}`);
    if (memberId === groupId)
      throw new Error(`Graph simulator: group ${groupId} cannot be a member of itself`);
    if (group.memberIds.includes(memberId)) return false;
    group.memberIds.push(memberId);
    this.logChange({ groupId, kind: 'added', memberId });
    this.save();
    return true;
  }

  /** Removes a direct member of a group and logs the change; false when it was not a member. */
  removeMember(groupId: string, memberId: string): boolean {
    const group = this.state.tenant.groups.find((g) => g.id === groupId);
    if (!group) throw new Error(`Graph simulator: no group ${groupId}`);
    const at = group.memberIds.indexOf(memberId);
    if (at < 0) return false;
    group.memberIds.splice(at, 1);
    this.logChange({ groupId, kind: 'removed', memberId });
    this.save();
    return true;
  }

  /** Deletes a group (and its membership of other groups) and logs it; false when there was no such group. */
  deleteGroup(groupId: string): boolean {
    const tenant = this.state.tenant;
    const at = tenant.groups.findIndex((g) => g.id === groupId);
    if (at < 0) return false;
    tenant.groups.splice(at, 1);
    this.logChange({ groupId, kind: 'groupDeleted' });
    for (const g of tenant.groups) {
      const i = g.memberIds.indexOf(groupId);
      if (i >= 0) {
        g.memberIds.splice(i, 1);
        this.logChange({ groupId: g.id, kind: 'removed', memberId: groupId });
      }
    }
    this.save();
    return true;
  }

  /**
   * Enables or disables a user's account (Entra's accountEnabled) and logs it for `users/delta`; false when
   * the user was already so. Throws for an unknown user.
   */
  setAccountEnabled(userId: string, enabled: boolean): boolean {
    const user = this.state.tenant.users.find((u) => u.id === userId);
    if (!user) throw new Error(`Graph simulator: no user ${userId}`);
    if (user.accountEnabled === enabled) return false;
    user.accountEnabled = enabled;
    this.logUserChange(userId, 'updated');
    this.save();
    return true;
  }

  /**
   * Deletes a user as Entra does: they leave every group they were a direct member of (logged for
   * `groups/delta`) and every group they owned, and `users/delta` reports them removed. False when there was
   * no such user.
   */
  deleteUser(userId: string): boolean {
    const tenant = this.state.tenant;
    const at = tenant.users.findIndex((u) => u.id === userId);
    if (at < 0) return false;
    tenant.users.splice(at, 1);
    for (const g of tenant.groups) {
      const i = g.memberIds.indexOf(userId);
      if (i >= 0) {
        g.memberIds.splice(i, 1);
        this.logChange({ groupId: g.id, kind: 'removed', memberId: userId });
      }
      g.ownerIds = g.ownerIds.filter((o) => o !== userId);
    }
    this.logUserChange(userId, 'deleted');
    this.save();
    return true;
  }

  private logUserChange(userId: string, kind: UserChange['kind']): void {
    const d = this.deltaState;
    d.seq += 1;
    (d.userLog ??= []).push({ seq: d.seq, userId, kind });
  }

  /** User changes after `seq` up to and including `upTo`, oldest first. */
  userChangesBetween(seq: number, upTo: number): UserChange[] {
    return (this.deltaState.userLog ?? []).filter((c) => c.seq > seq && c.seq <= upTo);
  }

  private logChange(change: Omit<MembershipChange, 'seq'>): void {
    const d = this.deltaState;
    d.seq += 1;
    d.log.push({ seq: d.seq, ...change });
  }

  /** The current delta epoch and the last change's seq: where a round that starts now stands. */
  deltaPosition(): { epoch: number; seq: number } {
    return { epoch: this.deltaState.epoch, seq: this.deltaState.seq };
  }

  /** Membership changes after `seq` up to and including `upTo`, oldest first. */
  changesBetween(seq: number, upTo: number): MembershipChange[] {
    return this.deltaState.log.filter((c) => c.seq > seq && c.seq <= upTo);
  }

  /** Expires every delta token issued so far: the next use answers 400 syncStateNotFound. */
  expireDeltaTokens(): void {
    this.deltaState.epoch += 1;
    this.save();
  }

  /** Appends one write to writes.jsonl and the in-memory log. */
  recordWrite(write: GraphSimWrite): void {
    this.log.push(write);
    fs.appendFileSync(path.join(this.dir, 'writes.jsonl'), `${JSON.stringify(write)}\n`);
  }

  /** Every write recorded on this data dir, oldest first. */
  writes(): GraphSimWrite[] {
    return this.log.map((w) => ({ ...w }));
  }
}
