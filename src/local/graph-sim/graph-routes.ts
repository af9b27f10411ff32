/**
 * The Microsoft Graph v1.0 resources the simulator serves (users, manager, groups, owners, members,
 * member $ref add/remove, sendMail), as a function from one request to one response so the HTTP server and
 * `$batch` run the very same code.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SimAppInstallation, SimGroup, SimTeamsApp, SimUser } from './demo-tenant';
import { compileFilter, ODataFilterError, type FilterPropertyType } from './odata-filter';
import type { MembershipChange, TenantStore, UserChange } from './tenant.store';

/** One request as the router sees it: the path is below the service root (`/users/x`). */
export interface SimRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
}

/** One response: a JSON body, or none (204/202). */
export interface SimResponse {
  status: number;
  headers: Record<string, string>;
  body?: unknown;
}

/** Ids that go into every error body and response header of one HTTP request. */
export interface RequestIds {
  requestId: string;
  clientRequestId: string;
}

/** What the router needs from the simulator. */
export interface RouteContext {
  store: TenantStore;
  /** Service root, e.g. http://127.0.0.1:5780/v1.0 (for @odata.context and @odata.nextLink). */
  serviceRoot: string;
  mailDir: string;
  now: () => Date;
  ids: RequestIds;
  /** Member entries per page of `groups/delta` (a group without members counts as one). */
  deltaPageSize: number;
  /** Whether the app holds RoleManagement.ReadWrite.Directory, needed to change role-assignable groups. */
  grantRoleManagement: boolean;
  /**
   * The Entra app (client id) the caller's tokens stand for. With TeamsAppInstallation.ReadWriteSelfForUser.All
   * it may install only the catalog app whose webApplicationInfo.id is this app.
   */
  callerAppId: string;
  /** The chat id a new personal installation gets (the bot's conversation with the person). */
  personalChatId: (userId: string, app: SimTeamsApp) => string;
}

/** A Graph error response with the standard body: `{error:{code,message,innerError:{date,request-id,client-request-id}}}`. */
export function graphError(
  status: number,
  code: string,
  message: string,
  ids: RequestIds,
  now: Date,
  headers: Record<string, string> = {},
): SimResponse {
  return {
    status,
    headers,
    body: {
      error: {
        code,
        message,
        innerError: {
          // Graph writes this without milliseconds or zone designator.
          date: now.toISOString().slice(0, 19),
          'request-id': ids.requestId,
          'client-request-id': ids.clientRequestId,
        },
      },
    },
  };
}

class RouteError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const notFound = (id: string): RouteError =>
  new RouteError(
    404,
    'Request_ResourceNotFound',
    `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
  );
const badRequest = (message: string, code = 'BadRequest'): RouteError => new RouteError(400, code, message);

const USER_TYPE = 'microsoft.graph.user';
const GROUP_TYPE = 'microsoft.graph.group';

const USER_DEFAULT_SELECT = [
  'id',
  'displayName',
  'userPrincipalName',
  'mail',
  'department',
  'jobTitle',
  'accountEnabled',
];
const USER_SELECTABLE = new Set([...USER_DEFAULT_SELECT, 'givenName', 'surname', 'signInActivity']);
const USER_FILTERABLE: Record<string, FilterPropertyType> = {
  id: 'string',
  userPrincipalName: 'string',
  mail: 'string',
  displayName: 'string',
  givenName: 'string',
  surname: 'string',
  department: 'string',
  jobTitle: 'string',
  accountEnabled: 'boolean',
};

const GROUP_DEFAULT_SELECT = [
  'id',
  'displayName',
  'description',
  'mailNickname',
  'securityEnabled',
  'mailEnabled',
  'groupTypes',
  'onPremisesSyncEnabled',
  'isAssignableToRole',
  'membershipRule',
];
const GROUP_SELECTABLE = new Set(GROUP_DEFAULT_SELECT);
const DIRECTORY_OBJECT_SELECTABLE = new Set([...USER_SELECTABLE, ...GROUP_SELECTABLE]);

const GROUP_FILTERABLE: Record<string, FilterPropertyType> = {
  id: 'string',
  displayName: 'string',
  mailNickname: 'string',
  securityEnabled: 'boolean',
  mailEnabled: 'boolean',
};

function parseSelect(query: URLSearchParams, selectable: Set<string>, type: string): string[] | undefined {
  const raw = query.get('$select');
  if (raw === null) return undefined;
  const fields = raw
    .split(',')
    .map((f) => f.trim())
    .filter((f) => f !== '');
  for (const f of fields) {
    if (!selectable.has(f)) throw badRequest(`Could not find a property named '${f}' on type '${type}'.`);
  }
  return fields;
}

function userView(u: SimUser, select: string[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of select ?? USER_DEFAULT_SELECT) {
    // signInActivity is only ever returned when asked for by name, as in Graph (it needs AuditLog.Read.All).
    if (f === 'signInActivity') {
      out.signInActivity = {
        lastSignInDateTime: u.lastSignInDateTime,
        lastNonInteractiveSignInDateTime: u.lastNonInteractiveSignInDateTime,
      };
    } else {
      out[f] = u[f as keyof SimUser];
    }
  }
  return out;
}

function groupView(g: SimGroup, select: string[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  // Graph sends null for a property never set (e.g. onPremisesSyncEnabled of a cloud-only group).
  for (const f of select ?? GROUP_DEFAULT_SELECT) out[f] = g[f as keyof SimGroup] ?? null;
  return out;
}

function contextUrl(
  ctx: RouteContext,
  entitySet: string,
  select: string[] | undefined,
  entity = false,
): string {
  const sel = select ? `(${select.join(',')})` : '';
  return `${ctx.serviceRoot}/$metadata#${entitySet}${sel}${entity ? '/$entity' : ''}`;
}

function pageSize(query: URLSearchParams): number {
  const raw = query.get('$top');
  if (raw === null) return 100;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > 999) {
    throw badRequest(`Invalid page size specified: '${raw}'. Must be between 1 and 999 inclusive.`);
  }
  return n;
}

function pageOffset(query: URLSearchParams): number {
  const raw = query.get('$skiptoken');
  if (raw === null) return 0;
  try {
    const parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as { o?: unknown };
    if (typeof parsed.o === 'number' && Number.isInteger(parsed.o) && parsed.o >= 0) return parsed.o;
  } catch {
    // fall through to the error below
  }
  throw badRequest(`Invalid $skiptoken value '${raw}'.`, 'Directory_ExpiredPageToken');
}

/** A page of a collection, with an absolute `@odata.nextLink` carrying the caller's query and a skip token. */
function page(
  ctx: RouteContext,
  req: SimRequest,
  items: Record<string, unknown>[],
  odataContext: string,
  maxPage = 999,
): Record<string, unknown> {
  const size = Math.min(pageSize(req.query), maxPage);
  const offset = pageOffset(req.query);
  const value = items.slice(offset, offset + size);
  const body: Record<string, unknown> = { '@odata.context': odataContext };
  if (offset + size < items.length) {
    const params: string[] = [];
    req.query.forEach((v, k) => {
      if (k !== '$skiptoken') params.push(`${k}=${encodeURIComponent(v)}`);
    });
    params.push(`$skiptoken=${Buffer.from(JSON.stringify({ o: offset + size })).toString('base64url')}`);
    body['@odata.nextLink'] = `${ctx.serviceRoot}${req.path}?${params.join('&')}`;
  }
  body.value = value;
  return body;
}

function filtered<T extends object>(
  items: T[],
  query: URLSearchParams,
  props: Record<string, FilterPropertyType>,
  type: string,
): T[] {
  const raw = query.get('$filter');
  if (raw === null) return items;
  try {
    return items.filter(compileFilter<T>(raw, props, type));
  } catch (e) {
    if (e instanceof ODataFilterError) throw badRequest(e.message);
    throw e;
  }
}

function findUser(ctx: RouteContext, idOrUpn: string): SimUser | undefined {
  const key = idOrUpn.toLowerCase();
  return ctx.store.tenant.users.find((u) => u.id === key || u.userPrincipalName.toLowerCase() === key);
}

function requireUser(ctx: RouteContext, idOrUpn: string): SimUser {
  const u = findUser(ctx, idOrUpn);
  if (!u) throw notFound(idOrUpn);
  return u;
}

function requireGroup(ctx: RouteContext, id: string): SimGroup {
  const g = ctx.store.tenant.groups.find((x) => x.id === id.toLowerCase());
  if (!g) throw notFound(id);
  return g;
}

const json = (body: unknown, status = 200): SimResponse => ({ status, headers: {}, body });
const empty = (status: number): SimResponse => ({ status, headers: {} });

/** Graph's page size limit when listing users with signInActivity. */
const SIGN_IN_PAGE_MAX = 120;

function listUsers(ctx: RouteContext, req: SimRequest): SimResponse {
  const select = parseSelect(req.query, USER_SELECTABLE, USER_TYPE);
  const users = filtered(ctx.store.tenant.users, req.query, USER_FILTERABLE, USER_TYPE);
  return json(
    page(
      ctx,
      req,
      users.map((u) => userView(u, select)),
      contextUrl(ctx, 'users', select),
      // As Graph: with signInActivity selected, a page holds at most 120 users whatever $top asks.
      select?.includes('signInActivity') ? SIGN_IN_PAGE_MAX : 999,
    ),
  );
}

function getUser(ctx: RouteContext, req: SimRequest, id: string): SimResponse {
  const select = parseSelect(req.query, USER_SELECTABLE, USER_TYPE);
  const u = requireUser(ctx, id);
  return json({ '@odata.context': contextUrl(ctx, 'users', select, true), ...userView(u, select) });
}

function getManager(ctx: RouteContext, req: SimRequest, id: string): SimResponse {
  const select = parseSelect(req.query, USER_SELECTABLE, USER_TYPE);
  const u = requireUser(ctx, id);
  const manager = u.managerId ? ctx.store.tenant.users.find((x) => x.id === u.managerId) : undefined;
  if (!manager) throw notFound('manager');
  return json({
    '@odata.context': `${ctx.serviceRoot}/$metadata#directoryObjects/$entity`,
    '@odata.type': `#${USER_TYPE}`,
    ...userView(manager, select),
  });
}

function listGroups(ctx: RouteContext, req: SimRequest): SimResponse {
  const select = parseSelect(req.query, GROUP_SELECTABLE, GROUP_TYPE);
  const groups = filtered(ctx.store.tenant.groups, req.query, GROUP_FILTERABLE, GROUP_TYPE);
  return json(
    page(
      ctx,
      req,
      groups.map((g) => groupView(g, select)),
      contextUrl(ctx, 'groups', select),
    ),
  );
}

function getGroup(ctx: RouteContext, req: SimRequest, id: string): SimResponse {
  const select = parseSelect(req.query, GROUP_SELECTABLE, GROUP_TYPE);
  const g = requireGroup(ctx, id);
  return json({ '@odata.context': contextUrl(ctx, 'groups', select, true), ...groupView(g, select) });
}

/** A user or group as a directoryObject: typed, with the selected properties its type has (others left out). */
function directoryObjectView(
  ctx: RouteContext,
  id: string,
  select: string[] | undefined,
): Record<string, unknown> | undefined {
  const u = ctx.store.tenant.users.find((x) => x.id === id);
  if (u) {
    const fields = select?.filter((f) => USER_SELECTABLE.has(f));
    return { '@odata.type': `#${USER_TYPE}`, ...userView(u, fields) };
  }
  const g = ctx.store.tenant.groups.find((x) => x.id === id);
  if (g) {
    const fields = select?.filter((f) => GROUP_SELECTABLE.has(f));
    return { '@odata.type': `#${GROUP_TYPE}`, ...groupView(g, fields) };
  }
  return undefined;
}

/** Owners or direct members: users and (nested) groups, each typed, as Graph lists directoryObjects. */
function listDirectoryObjects(ctx: RouteContext, req: SimRequest, ids: string[]): SimResponse {
  const select = parseSelect(req.query, DIRECTORY_OBJECT_SELECTABLE, 'microsoft.graph.directoryObject');
  const items = ids.flatMap((id) => {
    const o = directoryObjectView(ctx, id, select);
    return o ? [o] : [];
  });
  return json(page(ctx, req, items, contextUrl(ctx, 'directoryObjects', select)));
}

/** Every member of a group through nested groups, breadth first, each once; a cycle of groups ends. */
function transitiveMemberIds(ctx: RouteContext, groupId: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>([groupId]);
  const queue = [groupId];
  while (queue.length > 0) {
    const next = queue.shift();
    const g = ctx.store.tenant.groups.find((x) => x.id === next);
    for (const m of g?.memberIds ?? []) {
      if (seen.has(m)) continue;
      seen.add(m);
      out.push(m);
      if (ctx.store.tenant.groups.some((x) => x.id === m)) queue.push(m);
    }
  }
  return out;
}

/** The groups `memberId` belongs to directly or through nesting. */
function transitiveGroupIds(ctx: RouteContext, memberId: string): Set<string> {
  const out = new Set<string>();
  const queue = [memberId];
  while (queue.length > 0) {
    const m = queue.shift() as string;
    for (const g of ctx.store.tenant.groups) {
      if (g.memberIds.includes(m) && !out.has(g.id)) {
        out.add(g.id);
        queue.push(g.id);
      }
    }
  }
  return out;
}

/** Graph's limit on groupIds in one checkMemberGroups. */
const CHECK_MEMBER_GROUPS_MAX = 20;

/**
 * `POST /users/{id}/checkMemberGroups`: which of `groupIds` the user is in, transitively, in the order given.
 * NB. A group id the tenant does not have is left out of the answer, not an error: Graph documents no error
 * for it, and the answer is "the groups the user is a member of", which that group is not.
 */
function checkMemberGroups(ctx: RouteContext, req: SimRequest, userId: string): SimResponse {
  const ids = (req.body as { groupIds?: unknown } | undefined)?.groupIds;
  if (!Array.isArray(ids) || ids.some((g) => typeof g !== 'string')) {
    throw badRequest('The request body must be {"groupIds": ["{id}", ...]}.', 'Request_BadRequest');
  }
  if (ids.length > CHECK_MEMBER_GROUPS_MAX) {
    // NB. Graph documents the limit of 20 groups but not its error text; this wording is the simulator's own.
    throw badRequest(
      `Too many groupIds: ${ids.length}. checkMemberGroups checks at most ${CHECK_MEMBER_GROUPS_MAX} groups per request.`,
      'Request_BadRequest',
    );
  }
  const user = requireUser(ctx, userId);
  const groups = transitiveGroupIds(ctx, user.id);
  return json({
    '@odata.context': `${ctx.serviceRoot}/$metadata#Collection(Edm.String)`,
    value: (ids as string[]).filter((g) => groups.has(g.toLowerCase())),
  });
}

/** Graph's limit on ids in one directoryObjects/getByIds. */
const GET_BY_IDS_MAX = 1000;

/** `POST /directoryObjects/getByIds`: the objects among `ids` that exist (of `types`, when given). */
function getByIds(ctx: RouteContext, req: SimRequest): SimResponse {
  const body = req.body as { ids?: unknown; types?: unknown } | undefined;
  const ids = body?.ids;
  if (!Array.isArray(ids) || ids.some((g) => typeof g !== 'string')) {
    throw badRequest(
      'The request body must be {"ids": ["{id}", ...], "types": [...]}.',
      'Request_BadRequest',
    );
  }
  if (ids.length > GET_BY_IDS_MAX) {
    throw badRequest(
      `getByIds takes at most ${GET_BY_IDS_MAX} ids, not ${ids.length}.`,
      'Request_BadRequest',
    );
  }
  const types = Array.isArray(body?.types)
    ? (body.types as unknown[]).map((t) => String(t).toLowerCase())
    : [];
  const items = (ids as string[]).flatMap((id) => {
    const o = directoryObjectView(ctx, id.toLowerCase(), undefined);
    if (!o) return [];
    const type = String(o['@odata.type']).replace(/^#microsoft\.graph\./, '');
    return types.length === 0 || types.includes(type) ? [o] : [];
  });
  return json({ '@odata.context': `${ctx.serviceRoot}/$metadata#directoryObjects`, value: items });
}

/**
 * Graph's refusal of a membership write for the group's kind, if any. The shapes, and where they come from:
 * - dynamic membership (`DynamicMembership`): 403 Authorization_RequestDenied "Insufficient privileges to
 *   complete the operation." (Microsoft's troubleshooting article "403 error when adding a user to a group by
 *   using Microsoft Graph API" names dynamic groups as a cause; members come from the rule only);
 * - synced from on-premises AD: 400 Request_BadRequest "Unable to update the specified properties for
 *   on-premises mastered Directory Sync objects or objects currently undergoing migration." (Graph's message
 *   for any write to a synced object, as reported in microsoftgraph/microsoft-graph-docs issues);
 * - mail-enabled security group or distribution list: 400 Request_BadRequest "Cannot Update a mail-enabled
 *   security groups and or distribution list." (observed, microsoftgraph/microsoft-graph-docs#14827);
 * - role-assignable, without RoleManagement.ReadWrite.Directory: 403 Authorization_RequestDenied
 *   "Insufficient privileges to complete the operation." (the add-member page requires that permission).
 */
function membershipWriteRefusal(ctx: RouteContext, g: SimGroup): RouteError | undefined {
  const insufficient = () =>
    new RouteError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
  if (g.groupTypes.includes('DynamicMembership')) return insufficient();
  if (g.onPremisesSyncEnabled === true) {
    return badRequest(
      'Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.',
      'Request_BadRequest',
    );
  }
  if (g.mailEnabled && !g.groupTypes.includes('Unified')) {
    return badRequest(
      'Cannot Update a mail-enabled security groups and or distribution list.',
      'Request_BadRequest',
    );
  }
  if (g.isAssignableToRole === true && !ctx.grantRoleManagement) return insufficient();
  return undefined;
}

const DIRECTORY_OBJECT_REF = /^https?:\/\/[^/]+\/(?:v1\.0|beta)\/(?:directoryObjects|users)\/([^/?#]+)$/i;

function addMember(ctx: RouteContext, req: SimRequest, groupId: string): SimResponse {
  const body = req.body as Record<string, unknown> | undefined;
  const ref = body && typeof body === 'object' ? body['@odata.id'] : undefined;
  if (typeof ref !== 'string') {
    throw badRequest(
      'The request body must be {"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/{id}"}.',
      'Request_BadRequest',
    );
  }
  const match = DIRECTORY_OBJECT_REF.exec(ref);
  if (!match) throw badRequest(`Invalid URL format specified in payload: '${ref}'.`, 'Request_BadRequest');
  const group = requireGroup(ctx, groupId);
  const refused = membershipWriteRefusal(ctx, group);
  if (refused) throw refused;
  const user = requireUser(ctx, decodeURIComponent(match[1]));
  if (!ctx.store.addMember(group.id, user.id)) {
    throw badRequest(
      "One or more added object references already exist for the following modified properties: 'members'.",
      'Request_BadRequest',
    );
  }
  return empty(204);
}

function removeMember(ctx: RouteContext, groupId: string, userId: string): SimResponse {
  const group = requireGroup(ctx, groupId);
  const refused = membershipWriteRefusal(ctx, group);
  if (refused) throw refused;
  const user = findUser(ctx, userId);
  if (!user || !ctx.store.removeMember(group.id, user.id)) throw notFound(userId);
  return empty(204);
}

interface MailAttachment {
  '@odata.type'?: unknown;
  name?: unknown;
  contentType?: unknown;
  contentBytes?: unknown;
}

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** Graph's limit on a sendMail request (4 MB). */
const SEND_MAIL_MAX_REQUEST = 4 * 1024 * 1024;

function recipients(list: unknown, field: string): string[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list))
    throw badRequest(`${field} must be an array of recipients.`, 'ErrorInvalidRequest');
  return list.map((r: unknown) => {
    const address = (r as { emailAddress?: { address?: unknown } } | null)?.emailAddress?.address;
    if (typeof address !== 'string' || !EMAIL.test(address)) {
      throw badRequest(
        `At least one recipient isn't valid., Recipient '${String(address)}' isn't resolved. All recipients must be resolved before a message can be submitted.`,
        'ErrorInvalidRecipients',
      );
    }
    return address;
  });
}

/** A file name safe to write inside the message folder, never escaping it. */
function safeFileName(name: string, taken: Set<string>): string {
  let base = path.basename(name).replace(/[^\w.\- ]/g, '_');
  if (base === '' || base === '.' || base === '..') base = 'attachment';
  let candidate = base;
  for (let n = 2; taken.has(candidate.toLowerCase()) || candidate.toLowerCase() === 'message.json'; n++) {
    candidate = `${n}-${base}`;
  }
  taken.add(candidate.toLowerCase());
  return candidate;
}

function sendMail(ctx: RouteContext, req: SimRequest, userId: string): SimResponse {
  const sender = findUser(ctx, userId);
  if (!sender) throw new RouteError(404, 'ErrorInvalidUser', `The requested user '${userId}' is invalid.`);
  const body = req.body as { message?: Record<string, unknown>; saveToSentItems?: unknown } | undefined;
  const message = body && typeof body === 'object' ? body.message : undefined;
  if (!message || typeof message !== 'object') {
    throw badRequest('Empty Payload. JSON content expected.', 'ErrorInvalidRequest');
  }
  const to = recipients(message.toRecipients, 'toRecipients');
  const cc = recipients(message.ccRecipients, 'ccRecipients');
  const bcc = recipients(message.bccRecipients, 'bccRecipients');
  if (to.length + cc.length + bcc.length === 0) {
    throw badRequest(
      "At least one recipient isn't valid., A message can't be sent because it contains no recipients.",
      'ErrorInvalidRecipients',
    );
  }
  const mailBody = message.body as { contentType?: unknown; content?: unknown } | undefined;
  if (
    mailBody !== undefined &&
    (typeof mailBody !== 'object' || mailBody === null || typeof mailBody.content !== 'string')
  ) {
    throw badRequest('message.body must be {contentType, content}.', 'ErrorInvalidRequest');
  }
  const rawAttachments = message.attachments ?? [];
  if (!Array.isArray(rawAttachments))
    throw badRequest('message.attachments must be an array.', 'ErrorInvalidRequest');
  // Graph takes at most 4 MB in a sendMail request: attachments travel as base64 (4/3 of the file), so a file
  // of more than about 3 MB needs a draft and an upload session instead.
  const requestChars =
    JSON.stringify(message.body ?? '').length +
    (rawAttachments as MailAttachment[]).reduce(
      (n, a) => n + (typeof a?.contentBytes === 'string' ? a.contentBytes.length : 0),
      0,
    );
  if (requestChars > SEND_MAIL_MAX_REQUEST) {
    throw new RouteError(
      413,
      'RequestEntityTooLarge',
      'The maximum request length supported is 4MB. Attach larger files through an upload session.',
    );
  }
  const decoded = (rawAttachments as MailAttachment[]).map((a) => {
    if (a?.['@odata.type'] !== '#microsoft.graph.fileAttachment') {
      throw badRequest(
        "Only attachments of type '#microsoft.graph.fileAttachment' are supported.",
        'ErrorInvalidRequest',
      );
    }
    if (typeof a.name !== 'string' || a.name === '')
      throw badRequest('An attachment has no name.', 'ErrorInvalidRequest');
    if (typeof a.contentBytes !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(a.contentBytes)) {
      throw badRequest(
        `The attachment '${a.name}' has invalid contentBytes (base64 expected).`,
        'ErrorInvalidRequest',
      );
    }
    return {
      name: a.name,
      contentType: typeof a.contentType === 'string' ? a.contentType : 'application/octet-stream',
      bytes: Buffer.from(a.contentBytes, 'base64'),
    };
  });
  const now = ctx.now();
  const id = randomUUID();
  const dir = path.join(ctx.mailDir, `${now.toISOString().replace(/[:.]/g, '-')}-${id}`);
  fs.mkdirSync(dir, { recursive: true });
  const taken = new Set<string>();
  const attachments = decoded.map((a) => {
    const file = safeFileName(a.name, taken);
    fs.writeFileSync(path.join(dir, file), a.bytes);
    return { name: a.name, contentType: a.contentType, size: a.bytes.length, file };
  });
  const stored = {
    id,
    sentDateTime: now.toISOString(),
    from: { emailAddress: { name: sender.displayName, address: sender.mail } },
    subject: typeof message.subject === 'string' ? message.subject : '',
    body: mailBody ?? { contentType: 'text', content: '' },
    toRecipients: to,
    ccRecipients: cc,
    bccRecipients: bcc,
    saveToSentItems: body?.saveToSentItems !== false,
    attachments,
  };
  fs.writeFileSync(path.join(dir, 'message.json'), JSON.stringify(stored, null, 2));
  return empty(202);
}

/** Graph's limit on ids in a `groups/delta` `$filter`. */
const DELTA_FILTER_MAX_IDS = 50;

/** What a delta state token carries: a skip token (`o` set) is a page of a round, a delta token a new round. */
interface DeltaToken {
  /** Epoch the token was issued in; expireDeltaTokens() bumps the store's epoch and so voids it. */
  e: number;
  /** Report changes after this seq; null on a first round (every current member). */
  since: number | null;
  /** The log position the round reports up to (taken when the round started). */
  upTo: number;
  /** The `$filter` ids, or null for every group. */
  g: string[] | null;
  /** The `$select`, or null for the default projection plus members. */
  sel: string[] | null;
  /** Offset of the next page (skip tokens only). */
  o?: number;
  /** `u` for a `users/delta` token; absent for `groups/delta`. A token of one is refused by the other. */
  k?: 'u';
}

const encodeToken = (t: DeltaToken): string => Buffer.from(JSON.stringify(t)).toString('base64url');

const syncStateNotFound = (): RouteError =>
  new RouteError(
    400,
    'syncStateNotFound',
    'The sync state is not found or has expired. Start a new round of delta queries without a state token.',
  );

function decodeToken(ctx: RouteContext, raw: string, kind?: 'u'): DeltaToken {
  let t: Partial<DeltaToken>;
  try {
    t = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Partial<DeltaToken>;
  } catch {
    throw syncStateNotFound();
  }
  const pos = ctx.store.deltaPosition();
  const valid =
    t !== null &&
    typeof t === 'object' &&
    t.e === pos.epoch &&
    t.k === kind &&
    typeof t.upTo === 'number' &&
    t.upTo <= pos.seq &&
    (t.since === null || (typeof t.since === 'number' && t.since <= t.upTo)) &&
    (t.g === null || Array.isArray(t.g)) &&
    (t.sel === null || Array.isArray(t.sel));
  if (!valid) throw syncStateNotFound();
  return t as DeltaToken;
}

/** `id eq 'a' or id eq 'b'`: the only `$filter` Graph supports on groups/delta. */
function deltaFilterIds(raw: string): string[] {
  const ids = raw.split(/\s+or\s+/i).map((clause) => {
    const m = /^\s*\(?\s*id\s+eq\s+'([^']*)'\s*\)?\s*$/i.exec(clause);
    if (!m) {
      throw badRequest(
        `Unsupported query: groups/delta only supports $filter=id eq '{id}' [or id eq '{id}' ...].`,
        'Request_UnsupportedQuery',
      );
    }
    return m[1].toLowerCase();
  });
  if (ids.length > DELTA_FILTER_MAX_IDS) {
    // NB. Graph documents the limit of 50 ids but not its error text; this wording is the simulator's own.
    throw badRequest(
      `Too many objects in the filter: ${ids.length}. A delta query can filter at most ${DELTA_FILTER_MAX_IDS} objects by id.`,
      'Request_UnsupportedQuery',
    );
  }
  return [...new Set(ids)];
}

/** One line of a delta round before paging: a member entry of a group, or a group on its own. */
interface DeltaEntry {
  groupId: string;
  member?: Record<string, unknown>;
  groupRemoved?: boolean;
}

function memberRef(ctx: RouteContext, id: string, removed: boolean): Record<string, unknown> {
  const isGroup = ctx.store.tenant.groups.some((g) => g.id === id);
  return {
    '@odata.type': `#${isGroup ? GROUP_TYPE : USER_TYPE}`,
    id,
    ...(removed ? { '@removed': { reason: 'deleted' } } : {}),
  };
}

/** Every entry of a first round: each group in scope with each of its current members. */
function firstRoundEntries(ctx: RouteContext, scope: string[] | null): DeltaEntry[] {
  const groups = scope
    ? scope.flatMap((id) => ctx.store.tenant.groups.filter((g) => g.id === id))
    : ctx.store.tenant.groups;
  return groups.flatMap((g) =>
    g.memberIds.length === 0
      ? [{ groupId: g.id }]
      : g.memberIds.map((m) => ({ groupId: g.id, member: memberRef(ctx, m, false) })),
  );
}

/**
 * The net membership changes in (since, upTo]: per group, each member whose state at upTo differs from its
 * state at `since` (the first change after `since` tells what it was, the last one what it became).
 */
function laterRoundEntries(ctx: RouteContext, t: DeltaToken): DeltaEntry[] {
  const changes = ctx.store
    .changesBetween(t.since ?? 0, t.upTo)
    .filter((c) => t.g === null || t.g.includes(c.groupId));
  const byGroup = new Map<string, MembershipChange[]>();
  for (const c of changes) byGroup.set(c.groupId, [...(byGroup.get(c.groupId) ?? []), c]);
  const entries: DeltaEntry[] = [];
  for (const [groupId, list] of byGroup) {
    if (list.some((c) => c.kind === 'groupDeleted')) {
      entries.push({ groupId, groupRemoved: true });
      continue;
    }
    const first = new Map<string, MembershipChange>();
    const last = new Map<string, MembershipChange>();
    for (const c of list) {
      if (c.memberId === undefined) continue;
      if (!first.has(c.memberId)) first.set(c.memberId, c);
      last.set(c.memberId, c);
    }
    for (const [memberId, c] of last) {
      const wasMember = first.get(memberId)?.kind === 'removed';
      const isMember = c.kind === 'added';
      if (wasMember !== isMember) entries.push({ groupId, member: memberRef(ctx, memberId, !isMember) });
    }
  }
  return entries;
}

/**
 * `GET /groups/delta`: rounds of membership changes as `members@delta`, paged with `@odata.nextLink`, ending
 * with `@odata.deltaLink`. A group with more members than a page holds is split, and shows up again on the
 * next page with the rest, as Graph does.
 */
function groupsDelta(ctx: RouteContext, req: SimRequest): SimResponse {
  const skip = req.query.get('$skiptoken');
  const delta = req.query.get('$deltatoken');
  let token: DeltaToken;
  if (skip !== null) token = decodeToken(ctx, skip);
  else if (delta !== null) {
    // A new round: report what changed after the last one, up to where the log stands now.
    token = { ...decodeToken(ctx, delta), upTo: ctx.store.deltaPosition().seq, o: 0 };
  } else {
    const select = parseSelect(req.query, new Set([...GROUP_SELECTABLE, 'members']), GROUP_TYPE);
    const filter = req.query.get('$filter');
    const pos = ctx.store.deltaPosition();
    token = {
      e: pos.epoch,
      since: null,
      upTo: pos.seq,
      g: filter === null ? null : deltaFilterIds(filter),
      sel: select ?? null,
      o: 0,
    };
  }
  const entries = token.since === null ? firstRoundEntries(ctx, token.g) : laterRoundEntries(ctx, token);
  const offset = token.o ?? 0;
  const pageEntries = entries.slice(offset, offset + ctx.deltaPageSize);
  const withMembers = token.sel === null || token.sel.includes('members');
  const props = (token.sel ?? GROUP_DEFAULT_SELECT).filter((f) => f !== 'members');
  const value: Record<string, unknown>[] = [];
  for (const e of pageEntries) {
    let obj = value[value.length - 1];
    if (!obj || obj.id !== e.groupId) {
      const group = ctx.store.tenant.groups.find((g) => g.id === e.groupId);
      obj =
        e.groupRemoved || !group
          ? { id: e.groupId, '@removed': { reason: 'changed' } }
          : { ...groupView(group, props), id: group.id };
      value.push(obj);
    }
    if (e.member && withMembers) {
      obj['members@delta'] = [...((obj['members@delta'] as unknown[] | undefined) ?? []), e.member];
    }
  }
  const body: Record<string, unknown> = {
    '@odata.context': contextUrl(ctx, 'groups', token.sel ?? undefined),
  };
  if (offset + ctx.deltaPageSize < entries.length) {
    body['@odata.nextLink'] =
      `${ctx.serviceRoot}/groups/delta?$skiptoken=${encodeToken({ ...token, o: offset + ctx.deltaPageSize })}`;
  } else {
    const next: DeltaToken = { e: token.e, since: token.upTo, upTo: token.upTo, g: token.g, sel: token.sel };
    body['@odata.deltaLink'] = `${ctx.serviceRoot}/groups/delta?$deltatoken=${encodeToken(next)}`;
  }
  body.value = value;
  return json(body);
}

/** The user properties `users/delta` can `$select` (signInActivity is not tracked by delta, as in Graph). */
const USER_DELTA_SELECTABLE = new Set([...USER_DEFAULT_SELECT, 'givenName', 'surname']);

/** One line of a users delta round: a user as it is now, or one removed since the last round. */
type UserDeltaEntry = { userId: string; removed: boolean };

/**
 * The net user changes in (since, upTo]: each user whose last change there was a deletion is removed, every
 * other changed user who still exists is reported as they are now.
 */
function laterUserEntries(ctx: RouteContext, t: DeltaToken): UserDeltaEntry[] {
  const last = new Map<string, UserChange['kind']>();
  for (const c of ctx.store.userChangesBetween(t.since ?? 0, t.upTo)) last.set(c.userId, c.kind);
  const out: UserDeltaEntry[] = [];
  for (const [userId, kind] of last) {
    const exists = ctx.store.tenant.users.some((u) => u.id === userId);
    if (kind === 'deleted' || !exists) out.push({ userId, removed: true });
    else out.push({ userId, removed: false });
  }
  return out;
}

/**
 * `GET /users/delta`: a first round lists every user (with the `$select` projection, kept for every later
 * round as Graph does), paged with `@odata.nextLink` (`$skiptoken`) and ending with `@odata.deltaLink`
 * (`$deltatoken`); a later round lists only the users changed since, a deleted one as
 * `{ id, "@removed": { "reason": "changed" } }` (Graph's answer for a soft delete; "deleted" is for a
 * permanent one). An expired or foreign token is 400 syncStateNotFound, as for `groups/delta`.
 */
function usersDelta(ctx: RouteContext, req: SimRequest): SimResponse {
  const skip = req.query.get('$skiptoken');
  const delta = req.query.get('$deltatoken');
  let token: DeltaToken;
  if (skip !== null) token = decodeToken(ctx, skip, 'u');
  else if (delta !== null) {
    token = { ...decodeToken(ctx, delta, 'u'), upTo: ctx.store.deltaPosition().seq, o: 0 };
  } else {
    if (req.query.get('$filter') !== null) {
      throw badRequest(
        'Unsupported query: the simulator serves users/delta without $filter.',
        'Request_UnsupportedQuery',
      );
    }
    const select = parseSelect(req.query, USER_DELTA_SELECTABLE, USER_TYPE);
    const pos = ctx.store.deltaPosition();
    token = { e: pos.epoch, since: null, upTo: pos.seq, g: null, sel: select ?? null, o: 0, k: 'u' };
  }
  const entries: UserDeltaEntry[] =
    token.since === null
      ? ctx.store.tenant.users.map((u) => ({ userId: u.id, removed: false }))
      : laterUserEntries(ctx, token);
  const offset = token.o ?? 0;
  const value = entries.slice(offset, offset + ctx.deltaPageSize).map((e) => {
    const user = e.removed ? undefined : ctx.store.tenant.users.find((u) => u.id === e.userId);
    return user
      ? { ...userView(user, token.sel ?? undefined), id: user.id }
      : { id: e.userId, '@removed': { reason: 'changed' } };
  });
  const body: Record<string, unknown> = {
    '@odata.context': contextUrl(ctx, 'users', token.sel ?? undefined),
  };
  if (offset + ctx.deltaPageSize < entries.length) {
    body['@odata.nextLink'] =
      `${ctx.serviceRoot}/users/delta?$skiptoken=${encodeToken({ ...token, o: offset + ctx.deltaPageSize })}`;
  } else {
    const next: DeltaToken = {
      e: token.e,
      since: token.upTo,
      upTo: token.upTo,
      g: null,
      sel: token.sel,
      k: 'u',
    };
    body['@odata.deltaLink'] = `${ctx.serviceRoot}/users/delta?$deltatoken=${encodeToken(next)}`;
  }
  body.value = value;
  return json(body);
}

const CATALOG_APP_BIND = /\/appCatalogs\/teamsApps\/([^/?#]+)$/i;
const INSTALLED_APP_FILTER = /^\s*teamsApp\/id\s+eq\s+'((?:[^']|'')*)'\s*$/i;

function teamsAppView(app: SimTeamsApp): Record<string, unknown> {
  return {
    id: app.id,
    externalId: app.externalId,
    displayName: app.displayName,
    distributionMethod: 'organization',
  };
}

/** `GET /appCatalogs/teamsApps`: the org catalog (`$filter` on id, externalId or displayName). */
function listTeamsApps(ctx: RouteContext, req: SimRequest): SimResponse {
  const apps = filtered(
    ctx.store.tenant.teamsApps ?? [],
    req.query,
    { id: 'string', externalId: 'string', displayName: 'string' },
    'microsoft.graph.teamsApp',
  );
  return json({
    '@odata.context': `${ctx.serviceRoot}/$metadata#appCatalogs/teamsApps`,
    value: apps.map(teamsAppView),
  });
}

/** Graph's installation ids are opaque base64 (with `/`, `+` and `=`): callers must escape them in paths. */
function installationId(userId: string, appId: string): string {
  return Buffer.from(`${userId}##${appId}##attest-sim`).toString('base64');
}

function installationsOf(ctx: RouteContext, userId: string): SimAppInstallation[] {
  return (ctx.store.tenant.appInstallations ?? []).filter((i) => i.userId === userId);
}

/**
 * `POST /users/{id}/teamwork/installedApps` with `{"teamsApp@odata.bind": ".../appCatalogs/teamsApps/{id}"}`:
 * 201 with no body; 409 when the app is already installed for the person; 404 for an app not in the catalog;
 * 403 when the caller's app is not the app's webApplicationInfo.id (ReadWriteSelfForUser) or a permission
 * policy blocks the app for the person.
 */
function installApp(ctx: RouteContext, req: SimRequest, id: string): SimResponse {
  const user = requireUser(ctx, id);
  const bind = (req.body as Record<string, unknown> | undefined)?.['teamsApp@odata.bind'];
  if (typeof bind !== 'string') {
    throw badRequest(
      "The request body must bind the app: {'teamsApp@odata.bind': '.../appCatalogs/teamsApps/{id}'}.",
    );
  }
  const appId = CATALOG_APP_BIND.exec(bind)?.[1];
  if (!appId) throw badRequest(`'${bind}' is not a link to an app in the app catalog.`);
  const app = (ctx.store.tenant.teamsApps ?? []).find(
    (a) => a.id === decodeURIComponent(appId).toLowerCase(),
  );
  if (!app) throw new RouteError(404, 'NotFound', `App with id '${appId}' was not found in the app catalog.`);
  if (app.webApplicationInfoId.toLowerCase() !== ctx.callerAppId.toLowerCase()) {
    throw new RouteError(
      403,
      'Forbidden',
      `Missing role permissions on the request. The application '${ctx.callerAppId}' may only install the Teams app whose webApplicationInfo.id is itself (TeamsAppInstallation.ReadWriteSelfForUser.All); '${app.displayName}' belongs to '${app.webApplicationInfoId}'.`,
    );
  }
  if ((ctx.store.tenant.teamsAppsBlockedFor ?? []).includes(user.id)) {
    throw new RouteError(
      403,
      'Forbidden',
      `App '${app.displayName}' is blocked for user '${user.id}' by the tenant's app permission policy.`,
    );
  }
  if (installationsOf(ctx, user.id).some((i) => i.teamsAppId === app.id)) {
    throw new RouteError(409, 'Conflict', 'App is already installed.');
  }
  (ctx.store.tenant.appInstallations ??= []).push({
    id: installationId(user.id, app.id),
    userId: user.id,
    teamsAppId: app.id,
    chatId: ctx.personalChatId(user.id, app),
  });
  ctx.store.save();
  return { status: 201, headers: {} };
}

/** `GET /users/{id}/teamwork/installedApps[?$expand=teamsApp][&$filter=teamsApp/id eq '{id}']`. */
function listInstalledApps(ctx: RouteContext, req: SimRequest, id: string): SimResponse {
  const user = requireUser(ctx, id);
  const expand = req.query.get('$expand');
  if (expand !== null && expand.trim() !== 'teamsApp' && expand.trim() !== 'teamsAppDefinition') {
    throw badRequest(
      `Could not find a navigation property named '${expand}' on type 'microsoft.graph.userScopeTeamsAppInstallation'.`,
    );
  }
  const rawFilter = req.query.get('$filter');
  let wanted: string | undefined;
  if (rawFilter !== null) {
    const m = INSTALLED_APP_FILTER.exec(rawFilter);
    if (!m) {
      throw badRequest(
        `Unsupported query: the simulator filters installedApps on teamsApp/id eq '{id}' only, not '${rawFilter}'.`,
        'Request_UnsupportedQuery',
      );
    }
    wanted = m[1].replace(/''/g, "'").toLowerCase();
  }
  const value = installationsOf(ctx, user.id)
    .filter((i) => wanted === undefined || i.teamsAppId === wanted)
    .map((i) => {
      const app = (ctx.store.tenant.teamsApps ?? []).find((a) => a.id === i.teamsAppId);
      return {
        id: i.id,
        ...(expand?.trim() === 'teamsApp' && app ? { teamsApp: teamsAppView(app) } : {}),
      };
    });
  return json({
    '@odata.context': `${ctx.serviceRoot}/$metadata#users('${user.id}')/teamwork/installedApps`,
    value,
  });
}

/** `GET /users/{id}/teamwork/installedApps/{installationId}/chat`: the 1:1 chat between the person and the bot. */
function installedAppChat(ctx: RouteContext, id: string, installation: string): SimResponse {
  const user = requireUser(ctx, id);
  const found = installationsOf(ctx, user.id).find((i) => i.id === installation);
  if (!found)
    throw new RouteError(
      404,
      'NotFound',
      `Installation '${installation}' was not found for user '${user.id}'.`,
    );
  return json({
    '@odata.context': `${ctx.serviceRoot}/$metadata#chats/$entity`,
    id: found.chatId,
    topic: null,
    chatType: 'oneOnOne',
    tenantId: ctx.store.tenant.tenantId,
  });
}

type Handler = (ctx: RouteContext, req: SimRequest, params: string[]) => SimResponse;

/** Route table: a path pattern (`*` = one id segment) and the handler per HTTP method. */
const ROUTES: { pattern: string[]; methods: Record<string, Handler> }[] = [
  { pattern: ['users'], methods: { GET: (c, r) => listUsers(c, r) } },
  // NB. Before users/{id}: `delta` is a function, not a user id.
  { pattern: ['users', 'delta'], methods: { GET: (c, r) => usersDelta(c, r) } },
  { pattern: ['users', '*'], methods: { GET: (c, r, [id]) => getUser(c, r, id) } },
  { pattern: ['users', '*', 'manager'], methods: { GET: (c, r, [id]) => getManager(c, r, id) } },
  { pattern: ['users', '*', 'sendMail'], methods: { POST: (c, r, [id]) => sendMail(c, r, id) } },
  {
    pattern: ['users', '*', 'checkMemberGroups'],
    methods: { POST: (c, r, [id]) => checkMemberGroups(c, r, id) },
  },
  {
    pattern: ['users', '*', 'teamwork', 'installedApps'],
    methods: { GET: (c, r, [id]) => listInstalledApps(c, r, id), POST: (c, r, [id]) => installApp(c, r, id) },
  },
  {
    pattern: ['users', '*', 'teamwork', 'installedApps', '*', 'chat'],
    methods: { GET: (c, _r, [id, i]) => installedAppChat(c, id, i) },
  },
  { pattern: ['appCatalogs', 'teamsApps'], methods: { GET: (c, r) => listTeamsApps(c, r) } },
  { pattern: ['directoryObjects', 'getByIds'], methods: { POST: (c, r) => getByIds(c, r) } },
  { pattern: ['groups'], methods: { GET: (c, r) => listGroups(c, r) } },
  // NB. Before groups/{id}: `delta` is a function, not a group id.
  { pattern: ['groups', 'delta'], methods: { GET: (c, r) => groupsDelta(c, r) } },
  { pattern: ['groups', '*'], methods: { GET: (c, r, [id]) => getGroup(c, r, id) } },
  {
    pattern: ['groups', '*', 'owners'],
    methods: { GET: (c, r, [id]) => listDirectoryObjects(c, r, requireGroup(c, id).ownerIds) },
  },
  {
    pattern: ['groups', '*', 'members'],
    methods: { GET: (c, r, [id]) => listDirectoryObjects(c, r, requireGroup(c, id).memberIds) },
  },
  {
    pattern: ['groups', '*', 'transitiveMembers'],
    methods: {
      GET: (c, r, [id]) => listDirectoryObjects(c, r, transitiveMemberIds(c, requireGroup(c, id).id)),
    },
  },
  { pattern: ['groups', '*', 'members', '$ref'], methods: { POST: (c, r, [id]) => addMember(c, r, id) } },
  {
    pattern: ['groups', '*', 'members', '*', '$ref'],
    methods: { DELETE: (c, _r, [g, u]) => removeMember(c, g, u) },
  },
];

function match(pattern: string[], segments: string[]): string[] | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: string[] = [];
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '*') {
      // A literal segment of another route (e.g. `$ref`) is never an id.
      if (segments[i].startsWith('$')) return undefined;
      params.push(segments[i]);
    } else if (pattern[i].toLowerCase() !== segments[i].toLowerCase()) {
      return undefined;
    }
  }
  return params;
}

/** The first segment no route knows, for Graph's "Resource not found for the segment" message. */
function unknownSegment(segments: string[]): string {
  for (let depth = 1; depth <= segments.length; depth++) {
    const prefix = segments.slice(0, depth);
    const known = ROUTES.some((r) => r.pattern.length >= depth && match(r.pattern.slice(0, depth), prefix));
    if (!known) return segments[depth - 1];
  }
  return segments[segments.length - 1] ?? '';
}

/** Answers one Graph request against the tenant; errors come back as Graph error responses, never thrown. */
export function routeGraphRequest(ctx: RouteContext, req: SimRequest): SimResponse {
  let segments: string[];
  try {
    segments = req.path
      .split('/')
      .filter((s) => s !== '')
      .map((s) => decodeURIComponent(s));
  } catch {
    return graphError(400, 'BadRequest', `Invalid request path '${req.path}'.`, ctx.ids, ctx.now());
  }
  try {
    for (const route of ROUTES) {
      const params = match(route.pattern, segments);
      if (!params) continue;
      const handler = route.methods[req.method.toUpperCase()];
      if (!handler) {
        return graphError(
          405,
          'Request_BadRequest',
          'Specified HTTP method is not allowed for the request target.',
          ctx.ids,
          ctx.now(),
          {
            Allow: Object.keys(route.methods).join(', '),
          },
        );
      }
      return handler(ctx, req, params);
    }
    return graphError(
      400,
      'BadRequest',
      `Resource not found for the segment '${unknownSegment(segments)}'.`,
      ctx.ids,
      ctx.now(),
    );
  } catch (e) {
    if (e instanceof RouteError) return graphError(e.status, e.code, e.message, ctx.ids, ctx.now());
    throw e;
  }
}
