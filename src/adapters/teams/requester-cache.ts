/**
 * A short-lived cache of what the bot asks the directory about the person it is talking to: their user record
 * and which of the catalog's groups they are in. NB. The bot must answer a card click within seconds however
 * slow Graph is, and the request card needs exactly these facts: they are fetched when the person opens a
 * chat, types or clicks (not awaited), and a submission reuses them: as they are for 5 minutes, and up to an
 * hour old while fresh ones are fetched in the background. Grants, revocations
 * and approver resolution never use this cache; they run in the orchestration against the directory itself.
 * Nor does an auto-approval: the service reads the requester afresh before it skips the approvers.
 */
import type { Catalog } from '../../domain/catalog/catalog.model';
import { catalogPolicyGroupIds } from '../../domain/catalog/catalog.policy';
import type { Clock } from '../../ports/clock.port';
import type { Directory, DirectoryUser } from '../../ports/directory.port';

/** How long facts about a requester are used as they are. */
export const REQUESTER_FACTS_TTL_MS = 5 * 60_000;
/**
 * Older facts, up to this age, still answer at once while fresh ones are fetched in the background (so a click
 * on a card opened an hour ago does not wait on Graph); older than this, the click waits for the directory.
 */
export const REQUESTER_FACTS_MAX_STALE_MS = 60 * 60_000;

interface Facts {
  user: DirectoryUser | undefined;
  groupIds: Set<string>;
  at: number;
}

/**
 * A Directory that answers `getUser` and `memberGroupIds` for recently seen people from memory, and passes
 * everything else through.
 */
export class RequesterCache implements Directory {
  private readonly facts = new Map<string, Promise<Facts>>();
  private readonly refreshing = new Set<string>();
  private readonly groups: string[];
  private readonly known: ReadonlySet<string>;

  constructor(
    private readonly directory: Directory,
    catalog: Catalog,
    private readonly clock: Clock,
    private readonly ttlMs = REQUESTER_FACTS_TTL_MS,
    private readonly maxStaleMs = REQUESTER_FACTS_MAX_STALE_MS,
  ) {
    this.groups = catalogPolicyGroupIds(catalog);
    this.known = new Set(this.groups);
  }

  /** Starts fetching `userId`'s facts if they are not fresh; never rejects (a failure is retried on use). */
  warm(userId: string): void {
    this.factsOf(userId).catch(() => undefined);
  }

  private factsOf(userId: string): Promise<Facts> {
    const key = userId.toLowerCase();
    const cached = this.facts.get(key);
    const now = this.clock.now().getTime();
    if (cached) {
      return cached.then((f) => {
        const age = now - f.at;
        if (age < this.ttlMs) return f;
        if (age < this.maxStaleMs) {
          this.refresh(key, now, cached);
          return f;
        }
        return this.fetch(key, now);
      });
    }
    return this.fetch(key, now);
  }

  /** Fetches fresh facts in the background; the old ones stay until the new ones arrive. */
  private refresh(key: string, now: number, old: Promise<Facts>): void {
    if (this.refreshing.has(key)) return;
    this.refreshing.add(key);
    const next = this.load(key, now);
    next
      .then(
        () => {
          if (this.facts.get(key) === old) this.facts.set(key, next);
        },
        () => undefined,
      )
      .finally(() => this.refreshing.delete(key));
  }

  private async load(key: string, now: number): Promise<Facts> {
    const user = await this.directory.getUser(key);
    const groupIds = user ? await this.directory.memberGroupIds(user.id, this.groups) : [];
    return { user, groupIds: new Set(groupIds.map((g) => g.toLowerCase())), at: now };
  }

  private fetch(key: string, now: number): Promise<Facts> {
    const p = this.load(key, now);
    this.facts.set(key, p);
    p.catch(() => {
      if (this.facts.get(key) === p) this.facts.delete(key);
    });
    // Keep the map bounded: drop the oldest entries past a few thousand people.
    if (this.facts.size > 5000) this.facts.delete(this.facts.keys().next().value as string);
    return p;
  }

  async getUser(idOrUpn: string): Promise<DirectoryUser | undefined> {
    if (!/^[0-9a-f-]{36}$/i.test(idOrUpn)) return this.directory.getUser(idOrUpn);
    return (await this.factsOf(idOrUpn)).user;
  }

  async memberGroupIds(userId: string, candidateGroupIds: string[]): Promise<string[]> {
    if (!candidateGroupIds.every((g) => this.known.has(g.toLowerCase()))) {
      return this.directory.memberGroupIds(userId, candidateGroupIds);
    }
    const { groupIds } = await this.factsOf(userId);
    return candidateGroupIds.filter((g) => groupIds.has(g.toLowerCase()));
  }

  findUsersByUpnPrefix(prefix: string, top?: number) {
    return this.directory.findUsersByUpnPrefix(prefix, top);
  }
  managerChain(userId: string, levels: number) {
    return this.directory.managerChain(userId, levels);
  }
  groupOwners(groupId: string) {
    return this.directory.groupOwners(groupId);
  }
  groupMembers(groupId: string) {
    return this.directory.groupMembers(groupId);
  }
  isMember(groupId: string, userId: string) {
    return this.directory.isMember(groupId, userId);
  }
  addMember(groupId: string, userId: string) {
    return this.directory.addMember(groupId, userId);
  }
  removeMember(groupId: string, userId: string) {
    return this.directory.removeMember(groupId, userId);
  }
  getGroup(groupId: string) {
    return this.directory.getGroup(groupId);
  }

  isTransitiveMember(groupId: string, userId: string) {
    return this.directory.isTransitiveMember(groupId, userId);
  }

  groupMembersDelta(start: { groupIds: string[] } | { deltaLink: string }) {
    return this.directory.groupMembersDelta(start);
  }

  usersDelta(start: { initial: true } | { deltaLink: string }) {
    return this.directory.usersDelta(start);
  }

  lastSignIns(userIds: string[]) {
    return this.directory.lastSignIns(userIds);
  }
}
