/**
 * The Directory port on Microsoft Graph v1.0. The same code serves real Graph (a client with an
 * @azure/identity token) and the local simulator (a client with the simulator's token): both come from
 * createGraphClient, whose RetryHandler already retries 429/503/504 answers after their Retry-After. What is
 * left to do here: page, batch (retrying throttled sub-requests, which the RetryHandler never sees), escape
 * OData values, make membership writes idempotent, and turn Graph's errors into DirectoryError.
 */
import { ResponseType, type Client } from '@microsoft/microsoft-graph-client';
import {
  DirectoryError,
  type AddMemberResult,
  type Directory,
  type DirectoryErrorCode,
  type DirectoryGroup,
  type DirectoryUser,
  type GroupMemberChanges,
  type GroupMembershipDelta,
  type RemoveMemberResult,
} from '../../ports/directory.port';
import {
  batchHeader,
  retryAfterSeconds,
  sendBatched,
  type GraphBatchOptions,
  type GraphBatchResponse,
} from './graph-batch';
import { odataQueryValue, odataString, startsWithFilter } from './graph-odata';

/** The user properties Attest reads; the same list for every call, so every DirectoryUser is complete. */
const USER_SELECT = [
  'id',
  'displayName',
  'userPrincipalName',
  'mail',
  'department',
  'jobTitle',
  'accountEnabled',
];

/** The group properties behind DirectoryGroup. */
const GROUP_SELECT = [
  'id',
  'displayName',
  'groupTypes',
  'securityEnabled',
  'mailEnabled',
  'onPremisesSyncEnabled',
  'isAssignableToRole',
];

/** Graph's largest page for directory object collections. */
const PAGE_SIZE = 999;
/** User ids per `id in (...)` filter: the number of values Graph is known to accept in one `in` clause. */
const SIGN_IN_IDS_PER_FILTER = 15;

/** Default and largest `top` of a UPN prefix search. */
const DEFAULT_SEARCH_TOP = 25;

/**
 * NB. The `@odata.id` of a member add must name Graph's public host even when the client talks to another
 * service root (the simulator): Graph validates it as a reference into its own directoryObjects.
 */
const DIRECTORY_OBJECTS_REF = 'https://graph.microsoft.com/v1.0/directoryObjects';

/** Graph's message for a member add of someone already in the group (a 400, not a 409). */
const ALREADY_MEMBER = /added object references already exist/i;

/**
 * Graph's codes for a delta token it no longer honours: 400 `syncStateNotFound` for directory objects (spelt
 * `SyncStateNotFound` by some services), `resyncRequired` in the error list; a 410 Gone means the same.
 */
const DELTA_STATE_GONE = /^(syncStateNotFound|resyncRequired)$/i;

/** Graph's limit on groups in one checkMemberGroups call. */
const CHECK_MEMBER_GROUPS_MAX = 20;

/** Graph's limit on ids in one directoryObjects/getByIds call. */
const GET_BY_IDS_MAX = 1000;

/** Graph's limit on ids in one `groups/delta` `$filter`. */
const DELTA_FILTER_MAX_IDS = 50;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Operation = keyof Directory;

/** The application permission each operation needs, named in FORBIDDEN messages so an admin can grant it. */
const PERMISSION: Record<Operation, string> = {
  getUser: 'User.Read.All',
  findUsersByUpnPrefix: 'User.Read.All',
  managerChain: 'User.Read.All',
  groupOwners: 'GroupMember.Read.All',
  groupMembers: 'GroupMember.Read.All',
  groupsWithMembers: 'GroupMember.Read.All',
  isMember: 'GroupMember.Read.All',
  memberGroupIds: 'GroupMember.Read.All and User.Read.All',
  addMember: 'GroupMember.ReadWrite.All',
  removeMember: 'GroupMember.ReadWrite.All',
  lastSignIns: 'AuditLog.Read.All and User.Read.All',
  getGroup: 'GroupMember.Read.All',
  isTransitiveMember: 'GroupMember.Read.All and User.Read.All',
  groupMembersDelta: 'GroupMember.Read.All',
};

/** A Graph failure, whether it came as a thrown GraphError, a raw Response or a `$batch` sub-response. */
interface GraphFailure {
  /** Undefined when no HTTP answer came back (connection refused, DNS, TLS). */
  status?: number;
  code?: string;
  message: string;
  requestId?: string;
  retryAfterSeconds?: number;
}

/** A user, group or directoryObject as Graph returns it. */
interface GraphObject {
  '@odata.type'?: string;
  id: string;
  displayName?: string | null;
  userPrincipalName?: string | null;
  mail?: string | null;
  department?: string | null;
  jobTitle?: string | null;
  accountEnabled?: boolean | null;
  signInActivity?: {
    lastSignInDateTime?: string | null;
    lastNonInteractiveSignInDateTime?: string | null;
  } | null;
}

interface GraphPage {
  '@odata.nextLink'?: string;
  value: GraphObject[];
}

/** A group as Graph returns it with GROUP_SELECT. */
interface GraphGroup {
  id: string;
  displayName?: string | null;
  groupTypes?: string[] | null;
  securityEnabled?: boolean | null;
  mailEnabled?: boolean | null;
  onPremisesSyncEnabled?: boolean | null;
  isAssignableToRole?: boolean | null;
}

/** A group in a `groups/delta` page: `@removed` when the group was deleted. */
interface GraphDeltaGroup {
  id: string;
  '@removed'?: { reason?: string };
  'members@delta'?: (GraphObject & { '@removed'?: { reason?: string } })[];
}

interface GraphDeltaPage {
  '@odata.nextLink'?: string;
  '@odata.deltaLink'?: string;
  value: GraphDeltaGroup[];
}

interface GraphErrorBody {
  error?: { code?: string; message?: string; innerError?: { 'request-id'?: string } };
}

/** Tuning of the adapter; the defaults suit production. */
export interface GraphDirectoryOptions {
  /** How throttled requests inside `$batch` are retried (the client's RetryHandler covers the rest). */
  batch?: Partial<GraphBatchOptions>;
}

const seg = (value: string): string => encodeURIComponent(value);

const isUser = (o: GraphObject): boolean =>
  o['@odata.type'] === undefined || o['@odata.type'] === '#microsoft.graph.user';

function toUser(o: GraphObject): DirectoryUser {
  return {
    id: o.id,
    displayName: o.displayName ?? '',
    userPrincipalName: o.userPrincipalName ?? '',
    ...(o.mail ? { mail: o.mail } : {}),
    ...(o.department ? { department: o.department } : {}),
    ...(o.jobTitle ? { jobTitle: o.jobTitle } : {}),
    // Graph omits accountEnabled only when not selected; treat unknown as disabled, the safe side.
    accountEnabled: o.accountEnabled === true,
  };
}

/** The later of the interactive and non-interactive sign-ins: either shows the account is in use. */
function lastSignIn(o: GraphObject): Date | null {
  const times = [o.signInActivity?.lastSignInDateTime, o.signInActivity?.lastNonInteractiveSignInDateTime]
    .filter((t): t is string => typeof t === 'string' && t !== '')
    .map((t) => Date.parse(t))
    .filter((t) => !Number.isNaN(t));
  return times.length === 0 ? null : new Date(Math.max(...times));
}

/** Reads a thrown GraphError (or any other error) as a GraphFailure. */
function failureOf(e: unknown): GraphFailure {
  const g = e as {
    statusCode?: unknown;
    code?: unknown;
    message?: unknown;
    requestId?: unknown;
    headers?: { get(name: string): string | null };
  };
  const status = typeof g?.statusCode === 'number' && g.statusCode > 0 ? g.statusCode : undefined;
  const headers = typeof g?.headers?.get === 'function' ? g.headers : undefined;
  const requestId =
    (typeof g?.requestId === 'string' && g.requestId) || headers?.get('request-id') || undefined;
  return {
    status,
    ...(typeof g?.code === 'string' && g.code ? { code: g.code } : {}),
    message: typeof g?.message === 'string' && g.message ? g.message : String(e),
    ...(requestId ? { requestId } : {}),
    ...(headers ? optionalRetryAfter(retryAfterSeconds(headers.get('Retry-After'))) : {}),
  };
}

function optionalRetryAfter(seconds: number | undefined): { retryAfterSeconds?: number } {
  return seconds === undefined ? {} : { retryAfterSeconds: seconds };
}

/** Reads an error answer (raw Response or batch sub-response) as a GraphFailure. */
function failureFromAnswer(
  status: number,
  header: (name: string) => string | undefined,
  body: unknown,
): GraphFailure {
  const err = (body as GraphErrorBody | undefined)?.error;
  const requestId = err?.innerError?.['request-id'] ?? header('request-id');
  return {
    status,
    ...(err?.code ? { code: err.code } : {}),
    message: err?.message ?? `HTTP ${status}`,
    ...(requestId ? { requestId } : {}),
    ...optionalRetryAfter(retryAfterSeconds(header('Retry-After'))),
  };
}

function batchFailure(r: GraphBatchResponse): GraphFailure {
  return failureFromAnswer(r.status, (name) => batchHeader(r, name), r.body);
}

function codeFor(f: GraphFailure): DirectoryErrorCode {
  if (f.status === undefined) return 'DIRECTORY.UNAVAILABLE';
  if (f.status === 410 || (f.status === 400 && DELTA_STATE_GONE.test(f.code ?? '')))
    return 'DIRECTORY.DELTA_EXPIRED';
  if (f.status === 404) return 'DIRECTORY.NOT_FOUND';
  if (f.status === 429) return 'DIRECTORY.THROTTLED';
  if (f.status === 401 || f.status === 403) return 'DIRECTORY.FORBIDDEN';
  if (f.status === 500 || f.status === 502 || f.status === 503 || f.status === 504)
    return 'DIRECTORY.UNAVAILABLE';
  return 'DIRECTORY.FAILED';
}

/**
 * A DirectoryError for a Graph failure. `doing` completes "while ..." (e.g. "adding user X to group Y");
 * `notFound`, when given, is the whole message for a 404 because only the caller knows what was missing.
 */
function directoryError(
  op: Operation,
  f: GraphFailure,
  doing: string,
  target?: string,
  notFound?: string,
): DirectoryError {
  const code = codeFor(f);
  const graph = [f.status, f.code].filter((x) => x !== undefined).join(' ');
  const wait = f.retryAfterSeconds !== undefined ? `in ${f.retryAfterSeconds} s` : 'in a few minutes';
  let message: string;
  switch (code) {
    case 'DIRECTORY.NOT_FOUND':
      message = notFound ?? `Microsoft Graph found nothing while ${doing} (${graph}): check the id.`;
      break;
    case 'DIRECTORY.THROTTLED':
      message =
        `Microsoft Graph kept throttling Attest while ${doing}, after every retry (${graph}). Try again ${wait}; ` +
        `if it keeps happening, another job is using up this app's Graph quota in the tenant.`;
      break;
    case 'DIRECTORY.UNAVAILABLE':
      message =
        f.status === undefined
          ? `Microsoft Graph could not be reached while ${doing} (${f.message}). Check the network path to Graph.`
          : `Microsoft Graph was unavailable while ${doing}, after every retry (${graph}). Try again ${wait}; ` +
            `check the Microsoft 365 service health page if it persists.`;
      break;
    case 'DIRECTORY.DELTA_EXPIRED':
      message =
        `Microsoft Graph no longer honours the delta link while ${doing} (${graph}): its sync state expired ` +
        `(after 7 days) or is unknown. Start again from the group ids, a full sweep.`;
      break;
    case 'DIRECTORY.FORBIDDEN':
      message =
        f.status === 401
          ? `Microsoft Graph refused Attest's token while ${doing} (${graph}). Check the app registration's ` +
            `credential (managed identity, secret or certificate) and the tenant id.`
          : `Attest's identity is not allowed to do this: ${doing} (${graph}). Grant the application permission ` +
            `${PERMISSION[op]} to Attest's app registration and give admin consent.`;
      break;
    default:
      message = `Microsoft Graph refused ${doing} (${graph}: ${f.message}).`;
  }
  return new DirectoryError(code, message, {
    operation: op,
    ...(f.status !== undefined ? { status: f.status } : {}),
    ...(f.code ? { graphCode: f.code } : {}),
    ...(f.requestId ? { requestId: f.requestId } : {}),
    graphMessage: f.message,
    ...optionalRetryAfter(f.retryAfterSeconds),
    ...(target !== undefined ? { target } : {}),
  });
}

/** The Directory port on Microsoft Graph. Construct with a client from createGraphClient. */
export class GraphDirectory implements Directory {
  private readonly batchOptions: Partial<GraphBatchOptions>;

  constructor(
    private readonly client: Client,
    options: GraphDirectoryOptions = {},
  ) {
    this.batchOptions = options.batch ?? {};
  }

  async getUser(idOrUpn: string): Promise<DirectoryUser | undefined> {
    // NB. An empty id would address the /users collection itself.
    if (idOrUpn.trim() === '') return undefined;
    try {
      const o = (await this.client
        .api(`/users/${seg(idOrUpn)}`)
        .select(USER_SELECT)
        .get()) as GraphObject;
      return toUser(o);
    } catch (e) {
      const f = failureOf(e);
      if (f.status === 404) return undefined;
      throw directoryError('getUser', f, `reading user ${idOrUpn}`, idOrUpn);
    }
  }

  async findUsersByUpnPrefix(prefix: string, top = DEFAULT_SEARCH_TOP): Promise<DirectoryUser[]> {
    const n = Math.min(PAGE_SIZE, Math.max(1, Math.floor(top)));
    try {
      const page = (await this.client
        .api('/users')
        .filter(startsWithFilter('userPrincipalName', prefix))
        .select(USER_SELECT)
        .top(n)
        .get()) as GraphPage;
      return page.value.filter(isUser).map(toUser);
    } catch (e) {
      throw directoryError(
        'findUsersByUpnPrefix',
        failureOf(e),
        `searching users whose UPN starts with ${JSON.stringify(prefix)}`,
      );
    }
  }

  async managerChain(userId: string, levels: number): Promise<DirectoryUser[]> {
    const chain: DirectoryUser[] = [];
    if (levels < 1) return chain;
    // Cycle detection compares object ids, so a UPN is resolved first; otherwise a chain that loops back
    // to the requester would list them as their own manager's manager.
    let current = userId;
    if (!GUID.test(userId)) {
      const start = await this.getUser(userId);
      if (!start) throw this.userNotFound('managerChain', userId);
      current = start.id;
    }
    const seen = new Set([current.toLowerCase()]);
    for (let level = 0; level < levels; level++) {
      let o: GraphObject;
      try {
        o = (await this.client
          .api(`/users/${seg(current)}/manager`)
          .select(USER_SELECT)
          .get()) as GraphObject;
      } catch (e) {
        const f = failureOf(e);
        if (f.status !== 404) {
          throw directoryError('managerChain', f, `reading the manager of user ${current}`, current);
        }
        // 404 is both "no manager" and "no such user"; only the requester can be the latter, since every
        // later level is a manager Graph just returned.
        if (level === 0 && !(await this.getUser(current))) throw this.userNotFound('managerChain', userId, f);
        break;
      }
      // A manager may be an organisational contact; nobody past it is in the directory's chart.
      if (!isUser(o)) break;
      const manager = toUser(o);
      if (seen.has(manager.id.toLowerCase())) break;
      seen.add(manager.id.toLowerCase());
      chain.push(manager);
      current = manager.id;
    }
    return chain;
  }

  async groupOwners(groupId: string): Promise<DirectoryUser[]> {
    return this.allUsers('groupOwners', groupId, 'owners');
  }

  async groupMembers(groupId: string): Promise<DirectoryUser[]> {
    return this.allUsers('groupMembers', groupId, 'members');
  }

  async isMember(groupId: string, userId: string): Promise<boolean> {
    const first = `/groups/${seg(groupId)}/members?$select=id&$top=${PAGE_SIZE}`;
    return this.pageContains('isMember', groupId, first, userId);
  }

  async memberGroupIds(userId: string, candidateGroupIds: string[]): Promise<string[]> {
    return this.transitiveGroups('memberGroupIds', userId, candidateGroupIds);
  }

  async isTransitiveMember(groupId: string, userId: string): Promise<boolean> {
    return (await this.transitiveGroups('isTransitiveMember', userId, [groupId])).length > 0;
  }

  /**
   * Which candidates the user is in, directly or through nesting: checkMemberGroups (transitive, at most 20
   * groups a call) for each chunk of 20, and one directoryObjects/getByIds to tell a group the user is not in
   * from a group that does not exist (checkMemberGroups answers only "the groups you are in"). All of them go
   * in one `$batch`, so up to 380 candidates cost one round trip.
   */
  private async transitiveGroups(
    op: 'memberGroupIds' | 'isTransitiveMember',
    userId: string,
    candidateGroupIds: string[],
  ): Promise<string[]> {
    // The first spelling of each id wins, so the answer uses the caller's own strings in the caller's order.
    const groups: string[] = [];
    const seenIds = new Set<string>();
    for (const g of candidateGroupIds) {
      if (seenIds.has(g.toLowerCase())) continue;
      seenIds.add(g.toLowerCase());
      groups.push(g);
    }
    if (groups.length === 0) return [];
    const chunks: string[][] = [];
    for (let i = 0; i < groups.length; i += CHECK_MEMBER_GROUPS_MAX)
      chunks.push(groups.slice(i, i + CHECK_MEMBER_GROUPS_MAX));
    const existence: string[][] = [];
    for (let i = 0; i < groups.length; i += GET_BY_IDS_MAX)
      existence.push(groups.slice(i, i + GET_BY_IDS_MAX));
    const doing =
      groups.length === 1
        ? `checking whether user ${userId} is in group ${groups[0]}`
        : `checking which of ${groups.length} groups user ${userId} is in`;
    const answers = await this.batched(
      op,
      [
        ...chunks.map((chunk, i) => ({
          id: `check-${i}`,
          method: 'POST' as const,
          url: `/users/${seg(userId)}/checkMemberGroups`,
          body: { groupIds: chunk },
        })),
        ...existence.map((ids, i) => ({
          id: `exists-${i}`,
          method: 'POST' as const,
          url: '/directoryObjects/getByIds',
          body: { ids, types: ['group'] },
        })),
      ],
      doing,
    );
    const answerOf = (id: string): GraphBatchResponse => {
      const answer = answers.get(id);
      if (answer && answer.status === 200) return answer;
      const f = answer
        ? batchFailure(answer)
        : { message: 'Graph returned no answer for this request in the batch.' };
      throw directoryError(op, f, doing, userId);
    };
    const groupNotFound = (groupId: string, f?: GraphFailure): DirectoryError =>
      directoryError(
        op,
        f ?? { status: 404, code: 'Request_ResourceNotFound', message: `Group ${groupId} was not found.` },
        doing,
        groupId,
        this.groupNotFoundMessage(groupId),
      );
    const existing = new Set<string>();
    for (const [i] of existence.entries()) {
      for (const o of (answerOf(`exists-${i}`).body as GraphPage).value ?? [])
        existing.add(o.id.toLowerCase());
    }
    const member = new Set<string>();
    for (const [i, chunk] of chunks.entries()) {
      const answer = answers.get(`check-${i}`);
      if (answer?.status === 404) {
        // NB. Graph does not document whether an unknown group id in checkMemberGroups is a 404 or simply
        // absent from the answer; getByIds says which of the user and the groups is missing either way.
        const f = batchFailure(answer);
        const missingGroup = chunk.find((g) => !existing.has(g.toLowerCase()));
        throw missingGroup !== undefined ? groupNotFound(missingGroup, f) : this.userNotFound(op, userId, f);
      }
      for (const g of (answerOf(`check-${i}`).body as { value?: string[] }).value ?? [])
        member.add(g.toLowerCase());
    }
    const missing = groups.find((g) => !existing.has(g.toLowerCase()) && !member.has(g.toLowerCase()));
    if (missing !== undefined) throw groupNotFound(missing);
    return groups.filter((g) => member.has(g.toLowerCase()));
  }

  async addMember(groupId: string, userId: string): Promise<AddMemberResult> {
    const doing = `adding user ${userId} to group ${groupId}`;
    const res = await this.raw('addMember', doing, groupId, () =>
      this.client
        .api(`/groups/${seg(groupId)}/members/$ref`)
        .responseType(ResponseType.RAW)
        .post({ '@odata.id': `${DIRECTORY_OBJECTS_REF}/${seg(userId)}` }),
    );
    if (res.ok) return { outcome: 'added', ...requestIdOf(res.headers.get('request-id')) };
    const f = failureFromAnswer(res.status, (n) => res.headers.get(n) ?? undefined, await jsonOf(res));
    if (res.status === 400 && ALREADY_MEMBER.test(f.message))
      return { outcome: 'already-member', ...requestIdOf(f.requestId) };
    if (res.status === 404) {
      // 404 names either the group or the user; ask for the group to say which.
      const groupExists = await this.groupExists('addMember', groupId);
      throw directoryError(
        'addMember',
        f,
        doing,
        groupExists ? userId : groupId,
        groupExists
          ? `User ${userId} does not exist in the directory, so it cannot be added to group ${groupId}. ` +
              `The account may have been deleted.`
          : this.groupNotFoundMessage(groupId),
      );
    }
    throw (
      (await this.refusedForKind('addMember', groupId, f, doing)) ??
      directoryError('addMember', f, doing, groupId)
    );
  }

  async removeMember(groupId: string, userId: string): Promise<RemoveMemberResult> {
    const doing = `removing user ${userId} from group ${groupId}`;
    const res = await this.raw('removeMember', doing, groupId, () =>
      this.client
        .api(`/groups/${seg(groupId)}/members/${seg(userId)}/$ref`)
        .responseType(ResponseType.RAW)
        .delete(),
    );
    if (res.ok) return { outcome: 'removed', ...requestIdOf(res.headers.get('request-id')) };
    const f = failureFromAnswer(res.status, (n) => res.headers.get(n) ?? undefined, await jsonOf(res));
    if (res.status === 404) {
      // 404 is also what a missing group gets; only a group that exists makes it "not a member".
      if (await this.groupExists('removeMember', groupId))
        return { outcome: 'not-member', ...requestIdOf(f.requestId) };
      throw directoryError('removeMember', f, doing, groupId, this.groupNotFoundMessage(groupId));
    }
    throw (
      (await this.refusedForKind('removeMember', groupId, f, doing)) ??
      directoryError('removeMember', f, doing, groupId)
    );
  }

  /**
   * When Graph refused a membership write (400 or 403) because of what kind of group it is, an error that says
   * so; Graph's own messages ("Insufficient privileges ...") would send an admin after the wrong permission.
   * Costs one read, and only on a refusal.
   */
  private async refusedForKind(
    op: 'addMember' | 'removeMember',
    groupId: string,
    f: GraphFailure,
    doing: string,
  ): Promise<DirectoryError | undefined> {
    if (f.status !== 400 && f.status !== 403) return undefined;
    let group: DirectoryGroup | undefined;
    try {
      group = await this.getGroup(groupId);
    } catch {
      return undefined;
    }
    const reason = group && unmanageableReason(group);
    if (!group || !reason) return undefined;
    const base = directoryError(op, f, doing, groupId);
    const roleOnly = reason === ROLE_ASSIGNABLE;
    return new DirectoryError(
      roleOnly ? 'DIRECTORY.FORBIDDEN' : 'DIRECTORY.FAILED',
      `Microsoft Graph refused ${doing}: group "${group.displayName}" (${groupId}) ${reason}`,
      base.details,
    );
  }

  async groupsWithMembers(
    groupIds: string[],
  ): Promise<Map<string, { group: DirectoryGroup; members: DirectoryUser[] } | undefined>> {
    const op = 'groupsWithMembers';
    const doing = `reading ${groupIds.length} groups and their members`;
    const answers = await this.batched(
      op,
      groupIds.flatMap((id, i) => [
        { id: `g-${i}`, method: 'GET' as const, url: `/groups/${seg(id)}?$select=${GROUP_SELECT.join(',')}` },
        {
          id: `m-${i}`,
          method: 'GET' as const,
          url: `/groups/${seg(id)}/members?$select=${USER_SELECT.join(',')}&$top=${PAGE_SIZE}`,
        },
      ]),
      doing,
    );
    const out = new Map<string, { group: DirectoryGroup; members: DirectoryUser[] } | undefined>();
    for (const [i, groupId] of groupIds.entries()) {
      const g = answers.get(`g-${i}`);
      const m = answers.get(`m-${i}`);
      if (g?.status === 404) {
        out.set(groupId, undefined);
        continue;
      }
      for (const answer of [g, m]) {
        if (answer?.status !== 200) {
          const f = answer
            ? batchFailure(answer)
            : { message: 'Graph returned no answer for this request in the batch.' };
          throw directoryError(op, f, `reading group ${groupId} and its members`, groupId);
        }
      }
      const gg = (g as GraphBatchResponse).body as GraphGroup;
      const first = (m as GraphBatchResponse).body as GraphPage;
      const members = (first.value ?? []).filter(isUser).map(toUser);
      // NB. Pages after the first follow their nextLink one by one: Graph gives no way to batch a page not yet known.
      let url = first['@odata.nextLink'];
      while (url) {
        const page = await this.page(op, groupId, url, `reading the members of group ${groupId}`);
        members.push(...page.value.filter(isUser).map(toUser));
        url = page['@odata.nextLink'];
      }
      out.set(groupId, {
        group: {
          id: gg.id,
          displayName: gg.displayName ?? '',
          groupTypes: gg.groupTypes ?? [],
          securityEnabled: gg.securityEnabled === true,
          mailEnabled: gg.mailEnabled === true,
          onPremisesSyncEnabled: gg.onPremisesSyncEnabled === true,
          isAssignableToRole: gg.isAssignableToRole === true,
        },
        members,
      });
    }
    return out;
  }

  async getGroup(groupId: string): Promise<DirectoryGroup | undefined> {
    if (groupId.trim() === '') return undefined;
    try {
      const g = (await this.client
        .api(`/groups/${seg(groupId)}`)
        .select(GROUP_SELECT)
        .get()) as GraphGroup;
      return {
        id: g.id,
        displayName: g.displayName ?? '',
        groupTypes: g.groupTypes ?? [],
        // Graph sends null for flags never set; null means "not that kind".
        securityEnabled: g.securityEnabled === true,
        mailEnabled: g.mailEnabled === true,
        onPremisesSyncEnabled: g.onPremisesSyncEnabled === true,
        isAssignableToRole: g.isAssignableToRole === true,
      };
    } catch (e) {
      const f = failureOf(e);
      if (f.status === 404) return undefined;
      throw directoryError('getGroup', f, `reading group ${groupId}`, groupId);
    }
  }

  async groupMembersDelta(
    start: { groupIds: string[] } | { deltaLink: string },
  ): Promise<GroupMembershipDelta> {
    let url: string;
    let doing: string;
    if ('deltaLink' in start) {
      url = start.deltaLink;
      doing = 'reading group member changes from a delta link';
    } else {
      const ids = [...new Set(start.groupIds.map((g) => g.toLowerCase()))];
      if (ids.length === 0 || ids.length > DELTA_FILTER_MAX_IDS) {
        // NB. Without a $filter Graph would sweep every group in the tenant: never send that by accident.
        throw new DirectoryError(
          'DIRECTORY.FAILED',
          `groupMembersDelta takes 1 to ${DELTA_FILTER_MAX_IDS} group ids per round (Graph's $filter limit), ` +
            `not ${ids.length}: split the groups into rounds of at most ${DELTA_FILTER_MAX_IDS}.`,
          { operation: 'groupMembersDelta' },
        );
      }
      const filter = ids.map((id) => `id eq ${odataString(id)}`).join(' or ');
      url = `/groups/delta?$select=members&$filter=${odataQueryValue(filter)}`;
      doing = `starting a delta round of the members of ${ids.length} groups`;
    }
    // One entry per group across every page; a large group's members@delta comes split over several pages.
    const byGroup = new Map<string, { added: Set<string>; removed: Set<string>; groupDeleted: boolean }>();
    for (;;) {
      let page: GraphDeltaPage;
      try {
        page = (await this.client.api(url).get()) as GraphDeltaPage;
      } catch (e) {
        throw directoryError('groupMembersDelta', failureOf(e), doing);
      }
      for (const g of page.value ?? []) {
        const id = g.id.toLowerCase();
        let entry = byGroup.get(id);
        if (!entry) {
          entry = { added: new Set(), removed: new Set(), groupDeleted: false };
          byGroup.set(id, entry);
        }
        if (g['@removed']) entry.groupDeleted = true;
        for (const m of g['members@delta'] ?? []) {
          // Nested groups are members too, but access is about people.
          if (!isUser(m)) continue;
          // Within one round the last word on a member wins: added then removed is removed.
          const [to, from] = m['@removed'] ? [entry.removed, entry.added] : [entry.added, entry.removed];
          from.delete(m.id);
          to.add(m.id);
        }
      }
      if (page['@odata.nextLink']) {
        url = page['@odata.nextLink'];
        continue;
      }
      if (!page['@odata.deltaLink']) {
        throw directoryError(
          'groupMembersDelta',
          { status: 200, message: 'The delta page had neither @odata.nextLink nor @odata.deltaLink.' },
          doing,
        );
      }
      const changes: GroupMemberChanges[] = [...byGroup].map(([groupId, e]) =>
        e.groupDeleted
          ? { groupId, added: [], removed: [], groupDeleted: true }
          : { groupId, added: [...e.added], removed: [...e.removed] },
      );
      return { changes, deltaLink: page['@odata.deltaLink'] };
    }
  }

  /**
   * The sign-ins of up to {@link SIGN_IN_IDS_PER_FILTER} users per sub-request (`/users?$filter=id in (...)`),
   * 20 sub-requests per `$batch`: 300 users per HTTP request, where one `/users/{id}` per user would take 20.
   */
  async lastSignIns(userIds: string[]): Promise<Map<string, Date | null>> {
    const ids = [...new Set(userIds.map((id) => id.toLowerCase()))];
    const out = new Map<string, Date | null>();
    if (ids.length === 0) return out;
    const chunks: string[][] = [];
    for (let i = 0; i < ids.length; i += SIGN_IN_IDS_PER_FILTER)
      chunks.push(ids.slice(i, i + SIGN_IN_IDS_PER_FILTER));
    const doing = `reading the last sign-in of ${ids.length} users`;
    const answers = await this.batched(
      'lastSignIns',
      chunks.map((chunk, i) => ({
        id: String(i),
        method: 'GET' as const,
        url: `/users?$filter=${odataQueryValue(`id in (${chunk.map(odataString).join(',')})`)}&$select=id,signInActivity&$top=${SIGN_IN_IDS_PER_FILTER}`,
      })),
      doing,
    );
    for (const [i, chunk] of chunks.entries()) {
      const answer = answers.get(String(i));
      if (answer?.status !== 200) {
        const f = answer
          ? batchFailure(answer)
          : { message: 'Graph returned no answer for this request in the batch.' };
        throw directoryError('lastSignIns', f, doing, chunk[0]);
      }
      let page = answer.body as GraphPage;
      for (;;) {
        for (const o of page.value ?? []) out.set(o.id.toLowerCase(), lastSignIn(o));
        const next = page['@odata.nextLink'];
        if (!next) break;
        page = await this.page('lastSignIns', chunk[0], next, doing);
      }
    }
    // Ids Graph did not return are users it does not know (deleted): absent from the map, as documented.
    return out;
  }

  /** Every user of a group's owners or members, following @odata.nextLink to the last page. */
  private async allUsers(
    op: 'groupOwners' | 'groupMembers',
    groupId: string,
    relation: 'owners' | 'members',
  ): Promise<DirectoryUser[]> {
    const users: DirectoryUser[] = [];
    let url: string | undefined =
      `/groups/${seg(groupId)}/${relation}?$select=${USER_SELECT.join(',')}&$top=${PAGE_SIZE}`;
    while (url) {
      const page = await this.page(op, groupId, url, `reading the ${relation} of group ${groupId}`);
      users.push(...page.value.filter(isUser).map(toUser));
      url = page['@odata.nextLink'];
    }
    return users;
  }

  /** Whether `userId` is on this page of members or a later one; stops at the first page that has it. */
  private async pageContains(
    op: Operation,
    groupId: string,
    firstUrl: string,
    userId: string,
  ): Promise<boolean> {
    const wanted = userId.toLowerCase();
    let url: string | undefined = firstUrl;
    while (url) {
      const page = await this.page(op, groupId, url, `reading the members of group ${groupId}`);
      if (page.value.some((m) => m.id.toLowerCase() === wanted)) return true;
      url = page['@odata.nextLink'];
    }
    return false;
  }

  /** One page of a group's relation; a 404 is the group missing. */
  private async page(op: Operation, groupId: string, url: string, doing: string): Promise<GraphPage> {
    try {
      return (await this.client.api(url).get()) as GraphPage;
    } catch (e) {
      throw directoryError(op, failureOf(e), doing, groupId, this.groupNotFoundMessage(groupId));
    }
  }

  private async groupExists(op: Operation, groupId: string): Promise<boolean> {
    try {
      await this.client
        .api(`/groups/${seg(groupId)}`)
        .select('id')
        .get();
      return true;
    } catch (e) {
      const f = failureOf(e);
      if (f.status === 404) return false;
      throw directoryError(op, f, `reading group ${groupId}`, groupId);
    }
  }

  /** Sends requests through `$batch`; a failure of a batch call itself becomes a DirectoryError. */
  private async batched(
    op: Operation,
    requests: Parameters<typeof sendBatched>[1],
    doing: string,
  ): Promise<Map<string, GraphBatchResponse>> {
    try {
      return await sendBatched(this.client, requests, this.batchOptions);
    } catch (e) {
      throw directoryError(op, failureOf(e), doing);
    }
  }

  /** Runs a RAW-response call; only a failure to get any answer (or the client's own error) throws. */
  private async raw(
    op: Operation,
    doing: string,
    target: string,
    call: () => Promise<unknown>,
  ): Promise<Response> {
    try {
      return (await call()) as Response;
    } catch (e) {
      throw directoryError(op, failureOf(e), doing, target);
    }
  }

  private userNotFound(op: Operation, userId: string, f?: GraphFailure): DirectoryError {
    return directoryError(
      op,
      f ?? { status: 404, code: 'Request_ResourceNotFound', message: `User ${userId} was not found.` },
      `reading user ${userId}`,
      userId,
      `User ${userId} does not exist in the directory. The account may have been deleted, or the id is wrong.`,
    );
  }

  private groupNotFoundMessage(groupId: string): string {
    return (
      `Group ${groupId} does not exist in the directory. Check the group id in the catalog; ` +
      `the group may have been deleted or belong to another tenant.`
    );
  }
}

const ROLE_ASSIGNABLE =
  'is role-assignable: changing its members needs the application permission RoleManagement.ReadWrite.Directory ' +
  "as well; grant it to Attest's app registration, or back the role with a group that is not role-assignable.";

/** Why Graph cannot change this group's members, or undefined when it can. */
export function unmanageableReason(g: DirectoryGroup): string | undefined {
  if (g.groupTypes.some((t) => t.toLowerCase() === 'dynamicmembership'))
    return 'has dynamic membership: its members come from its rule, so nobody can be added or removed.';
  if (g.onPremisesSyncEnabled)
    return 'is synced from on-premises Active Directory: change its members there, not through Graph.';
  if (g.mailEnabled && !g.groupTypes.some((t) => t.toLowerCase() === 'unified'))
    return g.securityEnabled
      ? 'is a mail-enabled security group: its members are managed in Exchange Online, not through Graph.'
      : 'is a distribution list: its members are managed in Exchange Online, not through Graph.';
  if (g.isAssignableToRole) return ROLE_ASSIGNABLE;
  return undefined;
}

function requestIdOf(id: string | null | undefined): { requestId?: string } {
  return id ? { requestId: id } : {};
}

/** The JSON body of an error answer, or undefined when it has none or it is not JSON. */
async function jsonOf(res: Response): Promise<unknown> {
  try {
    const text = await res.text();
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
}
