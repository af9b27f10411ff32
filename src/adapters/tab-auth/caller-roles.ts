/**
 * A tab caller's role, from the directory, never from the client: `admin` for members (direct or nested) of
 * ATTEST_ADMIN_GROUP_ID, `auditor` for members of ATTEST_AUDITOR_GROUP_ID, `member` otherwise. Cached briefly
 * per person, so a page of tab requests costs one directory check, and a removal from the admin group takes
 * effect within {@link ROLE_CACHE_MS}.
 */
import { DirectoryError, type Directory } from '../../ports/directory.port';
import type { Clock } from '../../ports/clock.port';
import type { ReviewCaller } from '../../ports/review-api.port';
import { TabAuthUnavailableError } from './tab-token.errors';

/** How long a resolved role is reused. */
export const ROLE_CACHE_MS = 60_000;

/** At most this many people's roles are kept; the oldest go first. */
const MAX_CACHED = 5000;

/** Resolves and caches roles. */
export class CallerRoleResolver {
  private readonly cache = new Map<string, { role: ReviewCaller['role']; until: number }>();

  constructor(
    private readonly groups: { adminGroupId?: string; auditorGroupId?: string },
    private readonly directory: () => Promise<Directory>,
    private readonly clock: Clock,
  ) {}

  /**
   * The role of `objectId`. A directory that does not answer is {@link TabAuthUnavailableError} (503): guessing
   * `member` would hide an admin's controls, guessing more would be worse. A configured group the directory
   * does not know is an error naming the setting.
   */
  async roleOf(objectId: string): Promise<ReviewCaller['role']> {
    const now = this.clock.now().getTime();
    const hit = this.cache.get(objectId);
    if (hit && hit.until > now) return hit.role;
    const role = await this.lookUp(objectId);
    this.cache.delete(objectId);
    if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(objectId, { role, until: now + ROLE_CACHE_MS });
    return role;
  }

  private async lookUp(objectId: string): Promise<ReviewCaller['role']> {
    const directory = await this.directory();
    const check = async (groupId: string | undefined, setting: string): Promise<boolean> => {
      if (!groupId) return false;
      try {
        return await directory.isTransitiveMember(groupId, objectId);
      } catch (err) {
        if (err instanceof DirectoryError && err.code === 'DIRECTORY.NOT_FOUND') {
          throw new Error(
            `${setting}=${groupId} names a group the directory does not have: an administrator must correct the setting.`,
          );
        }
        if (
          err instanceof DirectoryError &&
          (err.code === 'DIRECTORY.UNAVAILABLE' || err.code === 'DIRECTORY.THROTTLED')
        ) {
          throw new TabAuthUnavailableError(
            'Attest could not check your group memberships in Microsoft Entra just now; try again in a minute.',
            err.details.retryAfterSeconds ?? 30,
          );
        }
        throw err;
      }
    };
    if (await check(this.groups.adminGroupId, 'ATTEST_ADMIN_GROUP_ID')) return 'admin';
    if (await check(this.groups.auditorGroupId, 'ATTEST_AUDITOR_GROUP_ID')) return 'auditor';
    return 'member';
  }
}
