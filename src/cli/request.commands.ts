/**
 * `attest request`, `attest decide` and `attest demo`: the access-request lifecycle from the command line,
 * through the same application service the Teams bot uses. `--as <user>` names who acts (a UPN or object id
 * of the local directory): the CLI is a local tool with the storage keys in hand, so it is trusted to say who
 * acts, as an admin console would be.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig, loadConfigFromProcess, type AttestConfig } from '../config/config';
import type { AuditActor } from '../domain/audit/audit-event.model';
import { parseDuration } from '../domain/catalog/duration.parser';
import { DomainError } from '../domain/domain-error';
import type { AccessRequest } from '../domain/request/access-request';
import { PLAYGROUND_USERS } from '../local/graph-sim/demo-tenant';
import { formatVerifyResult } from '../ports/audit-log.port';
import type { WorkflowDeps } from '../workflows/workflow-deps';
import { formatEvent } from './event-format';
import { CliUsageError, valueOption, type CliContext } from './cli-program';
import { openWorkflowSession } from './workflow-session';

/** A usage mistake in these commands. */
export class RequestUsageError extends CliUsageError {}

/** The options of `request` and `decide`, by name without the dashes. */
export type RequestFlag = 'as' | 'app' | 'role' | 'duration' | 'justification' | 'ticket' | 'comment';

type Flags = Partial<Record<RequestFlag, string>>;

/** What `request`, `decide`, `status` or `demo` was given. */
export interface RequestCommandInput {
  flags: Flags;
  positional: string[];
  dataDir: string;
  /** Whether `--data` was given: the demo makes a fresh folder when not. */
  dataDirGiven: boolean;
}

/** `attest request`, `decide`, `status` and `demo`. */
export function registerRequestCommands(program: Command, cli: CliContext): void {
  const run = (command: 'request' | 'decide' | 'status' | 'demo') =>
    cli.action<Flags>(({ options, args, dataDir, dataDirGiven, out }) =>
      runRequestCommand(command, { flags: options, positional: args, dataDir, dataDirGiven }, out),
    );
  const as = () => valueOption('--as <user>', 'who acts: a UPN or object id of the directory');
  program
    .command('request')
    .usage(
      '--as <user> --app <app> --role <role> --duration <4h|7d|permanent> --justification "..." [--ticket REF]',
    )
    .description('submit a request; prints its id')
    .addOption(as())
    .addOption(valueOption('--app <app>', "the app's id in the catalog"))
    .addOption(valueOption('--role <role>', "the role's id in the app"))
    .addOption(valueOption('--duration <duration>', 'how long: 4h, 7d, … or permanent'))
    .addOption(valueOption('--justification <text>', 'why (the policy may require it)'))
    .addOption(valueOption('--ticket <ref>', 'a change or incident reference'))
    .action(run('request'));
  program
    .command('decide')
    .usage('--as <user> <requestId> approve|deny [--comment "..."]')
    .description('decide the stage the request waits on')
    .argument('[requestId]', 'the request')
    .argument('[decision]', 'approve or deny')
    .addOption(as())
    .addOption(valueOption('--comment <text>', 'a comment for the requester and the log'))
    .action(run('decide'));
  program
    .command('status')
    .usage('<requestId>')
    .description('where a request is')
    .argument('[requestId]', 'the request')
    .action(run('status'));
  program
    .command('demo')
    .description(
      'a scripted request on a fresh data folder: two approvals, grant, expiry, revoke, verify (a new temporary folder unless --data)',
    )
    .action(run('demo'));
}

function need(flags: Flags, name: RequestFlag): string {
  const v = flags[name];
  if (!v || !v.trim()) throw new RequestUsageError(`--${name} is required`);
  return v;
}

async function actorFor(deps: WorkflowDeps, who: string): Promise<AuditActor> {
  const user = await deps.directory.getUser(who);
  if (!user)
    throw new DomainError(
      'REQUEST.UNKNOWN_USER',
      `No user ${who} in the directory (use a UPN such as alex.chen@contoso.example).`,
    );
  return { objectId: user.id, upn: user.userPrincipalName, channel: 'cli' };
}

/** One line on where a request is. */
export function describeRequest(r: AccessRequest): string {
  const stage = r.stages[r.currentStage];
  const waiting =
    stage && stage.outcome === 'pending'
      ? ` — stage ${stage.number} waits on ${stage.approvers.map((a) => a.upn ?? a.id).join(', ')}`
      : '';
  const until = r.status === 'Active' ? ` until ${r.expiresAt ?? 'revoked'}` : '';
  const revoking =
    r.status === 'Revoking' && r.revoking?.attempts
      ? ` — ${r.revocation?.reason ?? 'ended'}; removal failed ${r.revoking.attempts} time${r.revoking.attempts === 1 ? '' : 's'} (${r.revoking.lastError ?? 'no reason given'}), next attempt ${r.revoking.nextAttemptAt ?? 'soon'}`
      : '';
  const failure =
    r.failure && (r.status === 'Failed' || r.status === 'NoApprover') ? ` — ${r.failure.reason}` : '';
  return `${r.id} ${r.appId}/${r.roleId} for ${r.requester.upn ?? r.requester.id}: ${r.status}${until}${waiting}${revoking}${failure}`;
}

/**
 * What the reconciler found about the request's membership, as a line for `attest status`: a grant's
 * membership removed outside Attest (in the Entra admin centre, by a script) is said, never silently passed over.
 */
export async function membershipNote(deps: WorkflowDeps, r: AccessRequest): Promise<string | undefined> {
  if (!r.groupId) return undefined;
  const { entry } = await deps.ledger.get(r.groupId, r.requester.id);
  const claimed = entry.claims.some((c) => c.kind === 'grant' && c.requestId === r.id);
  let goneAt = claimed ? entry.goneAt : undefined;
  if (!goneAt) {
    const found = await deps.reconcile.findings({ groupId: r.groupId, userId: r.requester.id });
    goneAt = found.find((f) => f.kind === 'removed-outside' && f.requestIds?.includes(r.id))?.foundAt;
  }
  return goneAt ? `membership removed outside Attest at ${goneAt}` : undefined;
}

/** Runs `request`, `decide`, `status` or `demo`; resolves to the exit code. */
export async function runRequestCommand(
  command: 'request' | 'decide' | 'status' | 'demo',
  input: RequestCommandInput,
  out: (line: string) => void,
): Promise<number> {
  if (command === 'demo') return runDemo(input, out);
  const { flags, positional, dataDir } = input;
  // Usage mistakes are said before any storage is opened.
  if (command === 'request') for (const name of ['duration', 'as', 'app', 'role'] as const) need(flags, name);
  if (command === 'decide') {
    const [requestId, decision, ...extra] = positional;
    if (!requestId || (decision !== 'approve' && decision !== 'deny') || extra.length)
      throw new RequestUsageError('decide needs <requestId> approve|deny');
    need(flags, 'as');
  }
  if (command === 'status' && positional.length !== 1)
    throw new RequestUsageError('status needs <requestId>');
  let config: AttestConfig = loadConfigFromProcess('local');
  config = { ...config };
  const session = await openWorkflowSession(config, dataDir);
  try {
    if (command === 'request') {
      if (positional.length) throw new RequestUsageError(`unexpected ${positional.join(' ')}`);
      const duration = need(flags, 'duration');
      let durationMs: number | 'permanent';
      try {
        durationMs = duration === 'permanent' ? 'permanent' : parseDuration(duration);
      } catch (e) {
        throw new RequestUsageError((e as Error).message);
      }
      const actor = await actorFor(session.deps, need(flags, 'as'));
      const { requestId, extended } = await session.service.submit({
        actor,
        appId: need(flags, 'app'),
        roleId: need(flags, 'role'),
        durationMs,
        justification: flags.justification ?? '',
        ticketReference: flags.ticket,
      });
      await session.settle();
      out(requestId);
      if (extended) out(`you already hold this role: asked to extend request ${requestId} instead`);
    } else if (command === 'decide') {
      const [requestId, decision] = positional as [string, 'approve' | 'deny'];
      const actor = await actorFor(session.deps, need(flags, 'as'));
      await session.service.decide({ actor, requestId, decision, comment: flags.comment });
      await session.settle();
      out(`${decision === 'approve' ? 'approved' : 'denied'} by ${actor.upn}`);
    }
    const requestId = command === 'request' ? undefined : positional[0];
    const shown = requestId ?? (await latestOf(session.deps, flags.as));
    const r = shown ? await session.deps.requests.get(shown) : undefined;
    if (command === 'status' && !r)
      throw new DomainError('REQUEST.NOT_FOUND', `There is no request ${positional[0]}.`);
    if (r) out(describeRequest(r));
    const note = r && command === 'status' ? await membershipNote(session.deps, r) : undefined;
    if (note) out(note);
    if (session.mode === 'client')
      out('(npm start is running on this data folder: it carries the request on)');
    return 0;
  } finally {
    await session.close();
  }
}

async function latestOf(deps: WorkflowDeps, who?: string): Promise<string | undefined> {
  if (!who) return undefined;
  const user = await deps.directory.getUser(who);
  return user ? (await deps.requests.byRequester(user.id))[0]?.id : undefined;
}

/**
 * The demo: on a fresh data folder (and free ports), Siobhan asks for GitHub organisation owner for a few
 * seconds; her manager and her manager's manager approve; access is granted, expires and is revoked; the log is
 * printed and verified. The last line is `verify: ok (<streams> streams, <events> events)`.
 */
async function runDemo(input: RequestCommandInput, out: (line: string) => void): Promise<number> {
  if (input.positional.length) throw new RequestUsageError(`unexpected ${input.positional.join(' ')}`);
  const dataDir = input.dataDirGiven ? input.dataDir : fs.mkdtempSync(path.join(os.tmpdir(), 'attest-demo-'));
  if (fs.existsSync(dataDir) && fs.readdirSync(dataDir).length > 0) {
    throw new RequestUsageError(`the demo needs a fresh data folder, and ${dataDir} is not empty`);
  }
  const config = loadConfig(
    {
      ATTEST_AZURITE_TABLE_PORT: '0',
      ATTEST_AZURITE_BLOB_PORT: '0',
      ATTEST_GRAPH_SIM_PORT: '0',
    },
    'local',
  );
  out(`demo data folder: ${dataDir}`);
  const session = await openWorkflowSession(config, dataDir);
  try {
    const [, priya, rahul, , siobhan] = PLAYGROUND_USERS;
    const actor = (u: (typeof PLAYGROUND_USERS)[number]): AuditActor => ({
      objectId: u.id,
      upn: u.userPrincipalName,
      channel: 'cli',
    });
    const step = async (what: string) => {
      await session.settle();
      out(what);
    };
    const { requestId } = await session.service.submit({
      actor: actor(siobhan),
      appId: 'github',
      roleId: 'owner',
      durationMs: 5000,
      justification: 'Rotate the organisation webhook secrets after the incident',
      ticketReference: 'CHG0012345',
    });
    await step(`1. ${siobhan.userPrincipalName} asks for github/owner for 5 seconds: request ${requestId}`);
    await session.service.decide({
      actor: actor(priya),
      requestId,
      decision: 'approve',
      comment: 'ok for the incident',
    });
    await step(`2. stage 1: ${priya.userPrincipalName} (her manager) approves`);
    await session.service.decide({ actor: actor(rahul), requestId, decision: 'approve' });
    await step(`3. stage 2: ${rahul.userPrincipalName} (manager's manager) approves`);
    const granted = await session.deps.requests.get(requestId);
    out(`4. granted: ${describeRequest(granted as AccessRequest)}`);
    for (let i = 0; i < 200; i++) {
      const r = await session.deps.requests.get(requestId);
      if (r?.status === 'Revoked') break;
      await new Promise((res) => setTimeout(res, 100));
    }
    await session.settle();
    const done = (await session.deps.requests.get(requestId)) as AccessRequest;
    out(`5. expired and revoked: ${describeRequest(done)}`);
    out('');
    out(`attest log ${requestId}:`);
    for await (const e of session.deps.audit.read(requestId)) out(`  ${formatEvent(e)}`);
    await session.deps.audit.writeDigest();
    const result = await session.deps.audit.verify();
    out(formatVerifyResult(result));
    return result.ok && done.status === 'Revoked' ? 0 : 1;
  } finally {
    await session.close();
  }
}
