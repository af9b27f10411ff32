/**
 * The tab's API: http functions under `/api/tabapi/v1/...` (NB. not `tab/...`: `tab/{*path}` serves the built
 * tab, and a catch-all must not shadow the API in either host). Every handler runs behind the tab's auth
 * wrapper, which validates the token and resolves the caller's role on the server; every input is validated
 * with zod and refused with a message that says what to change; answers are JSON (CSV for downloads).
 * Reviews go through the {@link ReviewApi} (which authorises per item); who-has-access, the audit trail and
 * the evidence export are read here from the ledger, the directory and the audit log, for admins and
 * auditors (and a person's own access for themself).
 */
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { z } from 'zod';
import { lifecycleCsv } from '../adapters/evidence/lifecycle-csv';
import { sha256 } from '../adapters/crypto/sha256';
import { verifyChain } from '../domain/audit/hash-chain.math';
import type { AuditEvent } from '../domain/audit/audit-event.model';
import { DomainError } from '../domain/domain-error';
import type { MembershipEntry } from '../domain/ledger/membership-ledger';
import type { DirectoryUser } from '../ports/directory.port';
import type { DriftFinding } from '../ports/membership-ledger.port';
import type { DurableClientPort } from '../ports/durable-client.port';
import type { ItemQuery, ReviewApi, ReviewCaller } from '../ports/review-api.port';
import type { AccessAnswer, AccessRow, AuditTrail, DefinitionSummary, TabMe } from '../ports/tab-api.port';
import { FunctionNames } from '../workflows/names';
import type { WorkflowDeps } from '../workflows/workflow-deps';
import type { AppServices, FunctionContext, HttpFunction } from './function-types';

/** Where the tab API is mounted, relative to host.json's `api` route prefix. */
export const TAB_API_ROUTE = 'tabapi/v1';

/** A tab API handler: the caller is already authenticated and their role resolved. */
export type TabHandler = (
  request: HttpRequest,
  context: FunctionContext,
  caller: ReviewCaller,
) => Promise<HttpResponseInit>;

/**
 * Wraps a {@link TabHandler} as an http handler: validates the token (401 with why otherwise) and resolves
 * the caller. Provided by the tab's auth module; tests pass the same one.
 */
export type TabAuthWrapper = (handler: TabHandler) => HttpFunction['handler'];

/** A refusal with its status and a message a person can act on. */
class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

const STATUS_BY_SUFFIX: [RegExp, number][] = [
  [/\.NOT_FOUND$/, 404],
  [/\.FORBIDDEN$/, 403],
  [/\.(CLOSED|CONFLICT|ALREADY_DECIDED)$/, 409],
  [/^DIRECTORY\.(THROTTLED|UNAVAILABLE)$/, 503],
];

/** An error as the tab sees it: a status and a message saying why, and what to do. */
export function errorAnswer(err: unknown): HttpResponseInit {
  if (err instanceof Refusal) return { status: err.status, jsonBody: { error: err.message, code: err.code } };
  if (err instanceof z.ZodError) {
    const what = err.issues
      .map((i) => `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`)
      .join('; ');
    return { status: 400, jsonBody: { error: `The request is not valid: ${what}.`, code: 'TAB.INVALID' } };
  }
  if (err instanceof DomainError) {
    if (err.code === 'DIRECTORY.FORBIDDEN') {
      return {
        status: 502,
        jsonBody: {
          error: `Attest may not read the directory (${err.message}); an administrator must grant its permissions.`,
          code: err.code,
        },
      };
    }
    const status = STATUS_BY_SUFFIX.find(([re]) => re.test(err.code))?.[1] ?? 400;
    const retry = status === 503 ? ' Try again in a minute.' : '';
    return { status, jsonBody: { error: `${err.message}${retry}`, code: err.code } };
  }
  throw err;
}

/** Runs a handler, turning refusals into answers (anything unexpected is the host's 500, logged). */
function guarded(handler: TabHandler): TabHandler {
  return async (request, context, caller) => {
    try {
      return await handler(request, context, caller);
    } catch (err) {
      return errorAnswer(err);
    }
  };
}

async function reviewsOf(services: AppServices, durable: DurableClientPort): Promise<ReviewApi> {
  if (!services.reviews) {
    throw new Refusal(503, 'Access reviews are not running on this host.', 'TAB.REVIEWS_UNAVAILABLE');
  }
  return services.reviews(durable);
}

/** The request's query string as an object (repeated keys: the last wins). */
function queryOf(request: HttpRequest): Record<string, string> {
  const out: Record<string, string> = {};
  request.query.forEach((v, k) => (out[k] = v));
  return out;
}

async function jsonOf(request: HttpRequest): Promise<unknown> {
  const text = await request.text();
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new Refusal(400, 'The request body is not JSON: send a JSON object.', 'TAB.INVALID');
  }
}

function readersOnly(caller: ReviewCaller, what: string): void {
  if (caller.role === 'member') {
    throw new Refusal(
      403,
      `${what} is for Attest admins and auditors; ask an Attest admin to add you to the auditors group if you need it.`,
      'TAB.FORBIDDEN',
    );
  }
}

const id = z
  .string()
  .trim()
  .min(1, 'is empty')
  .max(200, 'is longer than 200 characters')
  .regex(/^[\w.@:/-]+$/, 'may contain letters, digits and . @ : / - _ only');

const ItemQuerySchema = z.strictObject({
  campaignId: id.optional(),
  state: z.enum(['pending', 'decided', 'delegated', 'all']).optional(),
  recommendation: z.enum(['keep', 'revoke', 'none']).optional(),
  search: z.string().trim().max(200).optional(),
  sort: z.enum(['person', 'group', 'lastSignIn', 'recommendation']).optional(),
  pageSize: z.coerce.number().int().min(1).max(500).optional(),
  cursor: z.string().max(2000).optional(),
});

const DecideSchema = z.strictObject({
  source: z.enum(['reviewer', 'bulk']).default('reviewer'),
  decisions: z
    .array(
      z.strictObject({
        itemId: id,
        decision: z.enum(['keep', 'revoke']),
        reason: z.string().trim().max(1000, 'is longer than 1000 characters').optional(),
      }),
    )
    .min(1, 'needs at least one decision')
    .max(1000, 'holds more than 1000 decisions: send them in pages'),
});

const DelegateSchema = z.strictObject({
  itemIds: z.array(id).min(1, 'needs at least one item').max(1000),
  to: id,
  reason: z.string().trim().max(1000).optional(),
});

const StartSchema = z.strictObject({ definitionId: id });
const SignOffSchema = z.strictObject({ note: z.string().trim().max(1000).optional() });

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const EvidenceSchema = z
  .strictObject({
    from: z.string().regex(DAY, 'must be a day, YYYY-MM-DD (UTC)'),
    to: z.string().regex(DAY, 'must be a day, YYYY-MM-DD (UTC)'),
  })
  .refine((q) => q.from < q.to, { message: 'from must be before to (from inclusive, to exclusive)' });

const STREAM = /^(request|review)-[\w.:-]{1,200}$/;

function campaignIdOf(request: HttpRequest): string {
  return id.parse(request.params.campaignId);
}

function csv(name: string, body: string): HttpResponseInit {
  return {
    status: 200,
    headers: {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="${name}"`,
      'cache-control': 'no-store',
    },
    body,
  };
}

/** The catalog's groups with the role each belongs to. */
function catalogGroups(
  deps: WorkflowDeps,
): Map<string, { roleRef: string; appName: string; roleName: string }> {
  const out = new Map<string, { roleRef: string; appName: string; roleName: string }>();
  for (const app of deps.catalog.catalog.apps)
    for (const role of app.roles)
      out.set(role.groupId, { roleRef: role.ref, appName: app.name, roleName: role.name });
  return out;
}

function accessRow(
  groupId: string,
  groupName: string,
  user: Pick<DirectoryUser, 'id' | 'displayName' | 'userPrincipalName'>,
  present: boolean,
  entry: MembershipEntry | undefined,
  findings: DriftFinding[],
  role: { roleRef: string; appName: string; roleName: string } | undefined,
): AccessRow {
  const claims = entry?.claims ?? [];
  return {
    groupId,
    groupName,
    ...(role ? { roleRef: role.roleRef, appName: role.appName, roleName: role.roleName } : {}),
    userId: user.id,
    userDisplayName: user.displayName,
    userPrincipalName: user.userPrincipalName,
    present,
    claims,
    outsideAttest: !claims.some((c) => c.kind === 'grant'),
    owedRemovals: entry?.owed.length ?? 0,
    findings: findings
      .filter((f) => f.groupId === groupId && f.userId === user.id)
      .map((f) => ({
        kind: f.kind,
        foundAt: f.foundAt,
        ...(f.requestIds ? { requestIds: f.requestIds } : {}),
      })),
  };
}

async function accessByUser(deps: WorkflowDeps, who: string): Promise<AccessAnswer> {
  const user = await deps.directory.getUser(who);
  if (!user)
    throw new Refusal(
      404,
      `Nobody in the directory is ${who}: check the name or object id.`,
      'TAB.NOT_FOUND',
    );
  const groups = catalogGroups(deps);
  const [present, ledger, findings] = await Promise.all([
    deps.directory.memberGroupIds(user.id, [...groups.keys()]),
    deps.ledger.byUser(user.id),
    deps.reconcile.findings({ userId: user.id }),
  ]);
  const ids = new Set([
    ...present,
    ...ledger.filter((e) => e.claims.length || e.owed.length).map((e) => e.groupId),
  ]);
  const rows: AccessRow[] = [];
  for (const groupId of [...ids].sort()) {
    const role = groups.get(groupId);
    const name = role
      ? `${role.appName} / ${role.roleName}`
      : ((await deps.directory.getGroup(groupId))?.displayName ?? groupId);
    rows.push(
      accessRow(
        groupId,
        name,
        user,
        present.includes(groupId),
        ledger.find((e) => e.groupId === groupId),
        findings,
        role,
      ),
    );
  }
  return {
    subject: { kind: 'user', id: user.id, name: `${user.displayName} (${user.userPrincipalName})` },
    rows,
  };
}

async function accessByGroup(deps: WorkflowDeps, what: string): Promise<AccessAnswer> {
  const groups = catalogGroups(deps);
  let groupId = what.toLowerCase();
  if (what.includes('/')) {
    const found = [...groups.entries()].find(([, r]) => r.roleRef.toLowerCase() === what.toLowerCase());
    if (!found)
      throw new Refusal(
        404,
        `The catalog has no role ${what}: use app/role as the catalog names it.`,
        'TAB.NOT_FOUND',
      );
    groupId = found[0];
  }
  const group = await deps.directory.getGroup(groupId);
  if (!group) throw new Refusal(404, `No group ${what} in the directory: check the id.`, 'TAB.NOT_FOUND');
  const role = groups.get(groupId);
  const [members, ledger, findings] = await Promise.all([
    deps.directory.groupMembers(groupId),
    deps.ledger.byGroup(groupId),
    deps.reconcile.findings({ groupId }),
  ]);
  const rows: AccessRow[] = members.map((m) =>
    accessRow(
      groupId,
      group.displayName,
      m,
      true,
      ledger.find((e) => e.userId === m.id),
      findings,
      role,
    ),
  );
  // Memberships the ledger still answers for that are gone from the group (removed outside, removal owed).
  for (const e of ledger) {
    if (members.some((m) => m.id === e.userId) || (!e.claims.length && !e.owed.length)) continue;
    const u = (await deps.directory.getUser(e.userId)) ?? {
      id: e.userId,
      displayName: e.userId,
      userPrincipalName: '(not in the directory)',
    };
    rows.push(accessRow(groupId, group.displayName, u, false, e, findings, role));
  }
  const name = role ? `${role.appName} / ${role.roleName} (${group.displayName})` : group.displayName;
  return { subject: { kind: 'group', id: groupId, name }, rows };
}

async function auditTrail(deps: WorkflowDeps, stream: string): Promise<AuditTrail> {
  const events: AuditEvent[] = [];
  for await (const e of deps.audit.read(stream)) events.push(e);
  if (events.length === 0) throw new Refusal(404, `The audit log has no stream ${stream}.`, 'TAB.NOT_FOUND');
  // The verifier `attest verify` runs, on this stream (with the digests' checkpoints where the store has them).
  const result = deps.audit.verifyStream
    ? await deps.audit.verifyStream(stream)
    : verifyChain(stream, events, sha256);
  const verification: AuditTrail['verification'] = result.ok
    ? { ok: true, events: result.events, ...(result.head ? { headHash: result.head.hash } : {}) }
    : {
        ok: false,
        ...(result.seq !== undefined ? { seq: result.seq } : {}),
        problem: result.problem,
        message: result.message,
      };
  return { stream, events, verification };
}

function definitions(deps: WorkflowDeps): DefinitionSummary[] {
  return (deps.catalog.catalog.reviews ?? []).map((d) => ({
    id: d.id,
    name: d.name,
    defaultDecision: d.defaultDecision,
    massRemovalShare: d.massRemovalShare,
    stages: d.stages.length,
    groups: d.scope.groupIds.length + d.scope.roleRefs.length + d.scope.appIds.length,
  }));
}

/** The tab API's functions, each behind `withCaller`. */
export function tabApiFunctions(withCaller: TabAuthWrapper): HttpFunction[] {
  const route = (path: string) => `${TAB_API_ROUTE}/${path}`;
  const fn = (
    name: string,
    path: string,
    methods: HttpFunction['methods'],
    handler: TabHandler,
  ): HttpFunction => ({
    kind: 'http',
    name,
    route: route(path),
    methods,
    authLevel: 'anonymous', // the tab's token is validated by the wrapper
    handler: withCaller(guarded(handler)),
  });
  return [
    fn(FunctionNames.tabMe, 'me', ['GET'], async (_req, { services }, caller) => {
      const deps = await services.workflow();
      const me: TabMe = {
        objectId: caller.objectId,
        role: caller.role,
        ...(caller.upn ? { upn: caller.upn } : {}),
      };
      try {
        const user = await deps.directory.getUser(caller.objectId);
        if (user) me.displayName = user.displayName;
      } catch {
        // the name is a nicety: the tab works without it while the directory is down
      }
      return { jsonBody: me };
    }),
    fn(FunctionNames.tabItems, 'items', ['GET'], async (req, { services, durable }, caller) => {
      const query = ItemQuerySchema.parse(queryOf(req)) as ItemQuery;
      return { jsonBody: await (await reviewsOf(services, durable)).myItems(caller, query) };
    }),
    fn(
      FunctionNames.tabDecide,
      'campaigns/{campaignId}/decisions',
      ['POST'],
      async (req, { services, durable }, caller) => {
        const campaignId = campaignIdOf(req);
        const body = DecideSchema.parse(await jsonOf(req));
        const result = await (
          await reviewsOf(services, durable)
        ).decide(caller, campaignId, body.decisions, body.source);
        return { jsonBody: result };
      },
    ),
    fn(
      FunctionNames.tabDelegate,
      'campaigns/{campaignId}/delegations',
      ['POST'],
      async (req, { services, durable }, caller) => {
        const campaignId = campaignIdOf(req);
        const body = DelegateSchema.parse(await jsonOf(req));
        return {
          jsonBody: await (
            await reviewsOf(services, durable)
          ).delegate(caller, campaignId, body.itemIds, body.to, body.reason),
        };
      },
    ),
    fn(
      FunctionNames.tabCampaigns,
      'campaigns',
      ['GET', 'POST'],
      async (req, { services, durable }, caller) => {
        const reviews = await reviewsOf(services, durable);
        if (req.method === 'GET') return { jsonBody: await reviews.campaigns(caller) };
        const body = StartSchema.parse(await jsonOf(req));
        const started = await reviews.start(caller, { definitionId: body.definitionId });
        return { status: 'empty' in started ? 200 : 201, jsonBody: started };
      },
    ),
    fn(FunctionNames.tabDefinitions, 'definitions', ['GET'], async (_req, { services }, caller) => {
      if (caller.role !== 'admin') {
        throw new Refusal(
          403,
          'Only Attest admins start campaigns, so only they list the definitions.',
          'TAB.FORBIDDEN',
        );
      }
      return { jsonBody: definitions(await services.workflow()) };
    }),
    fn(
      FunctionNames.tabProgress,
      'campaigns/{campaignId}/progress',
      ['GET'],
      async (req, { services, durable }, caller) => {
        return { jsonBody: await (await reviewsOf(services, durable)).progress(caller, campaignIdOf(req)) };
      },
    ),
    // NB. Literal last segments, no `{action}`: Azure tries routes in the order of function names, so a
    // parameter there would catch .../decisions before the function meant for it.
    fn(
      FunctionNames.tabConfirm,
      'campaigns/{campaignId}/confirm',
      ['POST'],
      async (req, { services, durable }, caller) => ({
        jsonBody: await (await reviewsOf(services, durable)).confirmGuard(caller, campaignIdOf(req)),
      }),
    ),
    fn(
      FunctionNames.tabClose,
      'campaigns/{campaignId}/close',
      ['POST'],
      async (req, { services, durable }, caller) => ({
        jsonBody: await (await reviewsOf(services, durable)).close(caller, campaignIdOf(req)),
      }),
    ),
    fn(
      FunctionNames.tabSignOff,
      'campaigns/{campaignId}/signoff',
      ['POST'],
      async (req, { services, durable }, caller) => {
        const campaignId = campaignIdOf(req);
        const { note } = SignOffSchema.parse(await jsonOf(req));
        return { jsonBody: await (await reviewsOf(services, durable)).signOff(caller, campaignId, note) };
      },
    ),
    fn(
      FunctionNames.tabResults,
      'campaigns/{campaignId}/results',
      ['GET'],
      async (req, { services, durable }, caller) => {
        const campaignId = campaignIdOf(req);
        const text = await (await reviewsOf(services, durable)).resultsCsv(caller, campaignId);
        return csv(`attest-review-${campaignId}.csv`, text);
      },
    ),
    fn(FunctionNames.tabAccessByUser, 'access/users/{who}', ['GET'], async (req, { services }, caller) => {
      const who = id.parse(req.params.who).toLowerCase();
      const own = who === caller.objectId.toLowerCase() || who === caller.upn?.toLowerCase();
      if (!own) readersOnly(caller, "Another person's access");
      return { jsonBody: await accessByUser(await services.workflow(), who) };
    }),
    fn(FunctionNames.tabAccessByGroup, 'access/groups/{what}', ['GET'], async (req, { services }, caller) => {
      readersOnly(caller, 'Who has access to a group');
      return { jsonBody: await accessByGroup(await services.workflow(), id.parse(req.params.what)) };
    }),
    fn(FunctionNames.tabAuditTrail, 'audit/{stream}', ['GET'], async (req, { services }, caller) => {
      readersOnly(caller, 'The audit trail');
      const stream = z
        .string()
        .regex(STREAM, 'must name a request-… or review-… stream')
        .parse(req.params.stream);
      return { jsonBody: await auditTrail(await services.workflow(), stream) };
    }),
    fn(FunctionNames.tabEvidence, 'evidence', ['GET'], async (req, { services }, caller) => {
      readersOnly(caller, 'The evidence export');
      const q = EvidenceSchema.parse(queryOf(req));
      const deps = await services.workflow();
      const { csv: text } = await lifecycleCsv(deps.audit.scanAll(), {
        from: `${q.from}T00:00:00.000Z`,
        to: `${q.to}T00:00:00.000Z`,
      });
      return csv(`attest-evidence-${q.from}-${q.to}.csv`, text);
    }),
  ];
}
