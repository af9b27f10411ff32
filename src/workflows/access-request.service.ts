/**
 * The application API of access requests: submit, decide, extend, revoke. The Teams bot, the tab API and the
 * CLI all call this; it authorises on the server (the actor comes from the authenticated channel, never from
 * card data), checks the policy, and hands the work to the `access-request` orchestration.
 *
 * Refusals are audited: a refused attempt is appended to the request's `attempts:<id>` stream (the request's
 * own stream has one writer, its orchestration, which also audits refusals it finds itself).
 */
import { randomUUID } from 'node:crypto';
import { attemptRefused } from '../domain/audit/audit-events';
import type { AuditActor } from '../domain/audit/audit-event.model';
import type { CatalogRole, DurationValue, RoleRef } from '../domain/catalog/catalog.model';
import {
  evaluateAutoApprove,
  findRole,
  policyGroupIds,
  validateRequest,
} from '../domain/catalog/catalog.policy';
import { DomainError } from '../domain/domain-error';
import { authorizeDecision, type AccessRequest } from '../domain/request/access-request';
import type { RequestStatus } from '../domain/request/request-lifecycle';
import type { Directory, DirectoryUser } from '../ports/directory.port';
import type { DurableClientPort } from '../ports/durable-client.port';
import {
  ACCESS_REQUEST_VERSION,
  type AccessRequestInput,
  type DecisionEvent,
  type ExtendEvent,
  type RevokeEvent,
} from './access-request.types';
import { EventNames, OrchestrationNames } from './names';
import type { WorkflowDeps } from './workflow-deps';

/** How long before expiry the holder is reminded, unless a grant is shorter than twice that. */
const REMINDER_LEAD_MS = 24 * 3600_000;

/** A new request, as a channel hands it over. */
export interface SubmitCommand {
  actor: AuditActor;
  appId: string;
  roleId: string;
  durationMs: DurationValue;
  justification: string;
  ticketReference?: string;
}

/** Requests that hold a role or may soon: what duplicate and separation-of-duties checks count. */
const HELD: readonly RequestStatus[] = ['Submitted', 'PendingApproval', 'Approved', 'Active', 'Revoking'];

/** The stream that holds a request's refused attempts. */
export const attemptsStream = (requestId: string) => `attempts:${requestId}`;

/** Submit, decide, extend and revoke access requests. */
export class AccessRequestService {
  /**
   * `requesterFacts` is a faster view of the requester (the bot's requester cache, facts up to an hour old) for
   * the checks a submission may make on them: eligibility, the policy's refusals, the card. NB. An
   * auto-approval skips every approver, so it is only ever decided on `deps.directory` read afresh.
   */
  constructor(
    private readonly deps: WorkflowDeps,
    private readonly durable: DurableClientPort,
    private readonly newId: () => string = randomUUID,
    private readonly requesterFacts: Directory = deps.directory,
  ) {}

  /**
   * Submits a request for `actor` (the requester). A request for a role the requester already holds becomes
   * an extension of that grant instead of a second one. Policy problems are a DomainError naming each.
   */
  async submit(
    command: SubmitCommand,
  ): Promise<{ requestId: string; extended: boolean; autoApproved: boolean }> {
    const { catalog, stamp, unavailable } = this.deps.catalog;
    if (unavailable !== undefined) throw new DomainError('CATALOG.UNAVAILABLE', unavailable);
    const role = findRole(catalog, command.appId, command.roleId);
    if (!role) {
      const app = catalog.apps.find((a) => a.id === command.appId);
      const known = app ? app.roles.map((r) => r.id).join(', ') : catalog.apps.map((a) => a.id).join(', ');
      throw new DomainError(
        'CATALOG.UNKNOWN_ROLE',
        app
          ? `App ${command.appId} has no role ${command.roleId}. Its roles: ${known}.`
          : `There is no app ${command.appId} in the catalog. Apps: ${known}.`,
      );
    }
    let user = await this.requesterFacts.getUser(command.actor.objectId);
    if (!user || !user.accountEnabled) {
      throw new DomainError(
        'REQUEST.UNKNOWN_REQUESTER',
        `No enabled user ${command.actor.objectId} in the directory.`,
      );
    }
    const mine = await this.deps.requests.byRequester(user.id);
    // Pending requests count as well as grants: two pending requests for the same or conflicting roles
    // could otherwise both be approved.
    const held = mine.filter((r) => HELD.includes(r.status));
    const pendingSame = held.find(
      (r) =>
        r.status !== 'Active' && r.status !== 'Revoking' && r.appId === role.appId && r.roleId === role.id,
    );
    if (pendingSame) {
      throw new DomainError(
        'REQUEST.DUPLICATE',
        `You already asked for ${role.appId}/${role.id}: request ${pendingSame.id} is ${pendingSame.status === 'PendingApproval' ? 'waiting for approval' : 'being granted'}. Wait for it, or ask about it with "status ${pendingSame.id}".`,
        { requestId: pendingSame.id },
      );
    }
    const active = held.filter((r) => r.status === 'Active');
    const same = active.find((r) => r.appId === role.appId && r.roleId === role.id);
    if (same) {
      await this.extend({
        actor: command.actor,
        requestId: same.id,
        durationMs: command.durationMs,
        justification: command.justification,
      });
      return { requestId: same.id, extended: true, autoApproved: false };
    }
    const groupIds = await this.requesterFacts.memberGroupIds(user.id, policyGroupIds(role));
    const problems = validateRequest(role, {
      durationMs: command.durationMs,
      justification: command.justification,
      ticketReference: command.ticketReference,
      requester: { groupIds, department: user.department },
      heldRoleRefs: held.map((r) => `${r.appId}/${r.roleId}` as RoleRef),
    });
    if (problems.length) {
      throw new DomainError(problems[0].code, problems.map((p) => p.message).join(' '), { problems });
    }
    let auto = evaluateAutoApprove(role, {
      groupIds,
      department: user.department,
      durationMs: command.durationMs,
    });
    if (auto.autoApprove && this.requesterFacts !== this.deps.directory) {
      ({ user, auto } = await this.freshAutoApproval(role, user.id, command.durationMs));
    }
    const id = this.newId();
    const request: AccessRequest = {
      id,
      requester: { id: user.id, upn: user.userPrincipalName, displayName: user.displayName },
      appId: role.appId,
      roleId: role.id,
      groupId: role.groupId,
      policy: { id: stamp.catalogId, version: stamp.version, hash: stamp.contentHash },
      durationMs: command.durationMs,
      justification: command.justification,
      ticketReference: command.ticketReference,
      submittedAt: this.deps.clock.now().toISOString(),
      submittedVia: command.actor.channel,
      status: 'Submitted',
      stages: [],
      currentStage: 0,
    };
    await this.deps.requests.save(request);
    const input: AccessRequestInput = {
      version: ACCESS_REQUEST_VERSION,
      request,
      role,
      appName: catalog.apps.find((a) => a.id === role.appId)?.name,
      autoApprove: { approved: auto.autoApprove, reason: auto.reasons.join('; ') },
      actor: { ...command.actor, objectId: user.id, upn: user.userPrincipalName },
      reminderLeadMs:
        command.durationMs === 'permanent'
          ? REMINDER_LEAD_MS
          : Math.min(REMINDER_LEAD_MS, Math.floor(command.durationMs / 2)),
    };
    await this.durable.startNew(OrchestrationNames.accessRequest, { instanceId: id, input });
    return { requestId: id, extended: false, autoApproved: auto.autoApprove };
  }

  /**
   * Auto-approval, decided again on the requester as the directory has them now: enabled, still eligible, and
   * still meeting the rule (a person removed from the auto-approve group a minute ago goes to the approvers).
   */
  private async freshAutoApproval(
    role: CatalogRole,
    userId: string,
    durationMs: DurationValue,
  ): Promise<{ user: DirectoryUser; auto: ReturnType<typeof evaluateAutoApprove> }> {
    const user = await this.deps.directory.getUser(userId);
    if (!user || !user.accountEnabled) {
      throw new DomainError('REQUEST.UNKNOWN_REQUESTER', `No enabled user ${userId} in the directory.`);
    }
    const requester = {
      groupIds: await this.deps.directory.memberGroupIds(user.id, policyGroupIds(role)),
      department: user.department,
    };
    const notEligible = validateRequest(role, {
      durationMs,
      justification: '',
      requester,
      heldRoleRefs: [],
    }).filter((p) => p.code === 'POLICY.NOT_ELIGIBLE');
    if (notEligible.length) {
      throw new DomainError(notEligible[0].code, notEligible.map((p) => p.message).join(' '), {
        problems: notEligible,
      });
    }
    return { user, auto: evaluateAutoApprove(role, { ...requester, durationMs }) };
  }

  /**
   * An approver's decision on the stage the request waits on (or `stage`, when the channel says which one
   * the person saw). Checked here for a fast answer, and again by the orchestration, which decides. Returns the
   * request as it was checked (before the orchestration has recorded the decision).
   */
  async decide(command: {
    actor: AuditActor;
    requestId: string;
    decision: 'approve' | 'deny';
    comment?: string;
    stage?: number;
    decisionId?: string;
  }): Promise<AccessRequest> {
    const request = await this.checkDecision(command);
    const stage = command.stage ?? request.stages[request.currentStage]?.number ?? 0;
    // The audit names the approver as the directory does (Teams sends only the object id).
    const approver = request.stages
      .find((s) => s.number === stage)
      ?.approvers.find((a) => a.id.toLowerCase() === command.actor.objectId.toLowerCase());
    const event: DecisionEvent = {
      decisionId: command.decisionId ?? this.newId(),
      actor: { ...command.actor, upn: command.actor.upn ?? approver?.upn },
      stage,
      decision: command.decision,
      comment: command.comment,
    };
    await this.durable.raiseEvent(request.id, EventNames.decision, event, { eventId: event.decisionId });
    return request;
  }

  /**
   * Whether `actor` may decide `stage` (or the current stage) of the request now, without deciding: the
   * request as checked, or a DomainError, audited as a refused attempt. A channel calls it before it shows
   * anything of a request to someone who clicked on it.
   */
  async checkDecision(command: {
    actor: AuditActor;
    requestId: string;
    stage?: number;
  }): Promise<AccessRequest> {
    const request = await this.load(command.requestId);
    const stage = command.stage ?? request.stages[request.currentStage]?.number ?? 0;
    await this.guard(command.actor, request, () => authorizeDecision(request, command.actor.objectId, stage));
    return request;
  }

  /** The requester asks to keep an active grant longer; the role's approval stages decide. */
  async extend(command: {
    actor: AuditActor;
    requestId: string;
    durationMs: DurationValue;
    justification: string;
  }): Promise<void> {
    const request = await this.load(command.requestId);
    const role = this.roleOf(request);
    await this.guard(command.actor, request, () => {
      if (command.actor.objectId.toLowerCase() !== request.requester.id.toLowerCase()) {
        throw new DomainError(
          'REQUEST.NOT_REQUESTER',
          'Only the person who holds the access can ask to extend it.',
        );
      }
      assertActive(request);
      if (request.pendingExtension) {
        throw new DomainError(
          'REQUEST.EXTENSION_PENDING',
          `An extension of request ${request.id} is already waiting for approval.`,
        );
      }
      if (command.durationMs === 'permanent') {
        throw new DomainError('POLICY.DURATION_INVALID', 'An extension needs a length of time.');
      }
      // An extension adds to what is left; the grant may not then run longer from now than the role allows.
      const left = Math.max(
        0,
        new Date(request.expiresAt as string).getTime() - this.deps.clock.now().getTime(),
      );
      const problems = validateRequest(role, {
        durationMs: left + command.durationMs,
        justification: command.justification,
        ticketReference: request.ticketReference,
        requester: { groupIds: [], department: null },
        heldRoleRefs: [],
      }).filter((p) => p.code !== 'POLICY.NOT_ELIGIBLE');
      if (problems.length)
        throw new DomainError(problems[0].code, problems.map((p) => p.message).join(' '), { problems });
    });
    const event: ExtendEvent = {
      eventId: this.newId(),
      actor: command.actor,
      durationMs: command.durationMs as number,
      justification: command.justification,
    };
    await this.durable.raiseEvent(request.id, EventNames.extend, event, { eventId: event.eventId });
  }

  /** Ends an active grant early: the requester, or an Attest admin. */
  async revoke(command: {
    actor: AuditActor;
    requestId: string;
    reason?: RevokeEvent['reason'];
  }): Promise<void> {
    const request = await this.load(command.requestId);
    const isRequester = command.actor.objectId.toLowerCase() === request.requester.id.toLowerCase();
    const isAdmin =
      !isRequester && this.deps.adminGroupId
        ? await this.deps.directory.isTransitiveMember(this.deps.adminGroupId, command.actor.objectId)
        : false;
    await this.guard(command.actor, request, () => {
      if (!isRequester && !isAdmin) {
        throw new DomainError(
          'REQUEST.NOT_ALLOWED',
          'Only the holder of the access or an Attest admin can revoke it.',
        );
      }
      assertActive(request);
    });
    const event: RevokeEvent = {
      eventId: this.newId(),
      actor: command.actor,
      reason: command.reason ?? 'revoked',
    };
    await this.durable.raiseEvent(request.id, EventNames.revoke, event, { eventId: event.eventId });
  }

  /**
   * Audits an attempt a channel refused before it reached a request (a card whose data was tampered with,
   * names no request, or names one that does not exist), in `attempts:<requestId>` or, with no usable id,
   * `attempts:unknown`.
   */
  async refuse(
    actor: AuditActor,
    requestId: string | undefined,
    code: string,
    reason: string,
  ): Promise<void> {
    const id = requestId && /^[0-9A-Za-z-]{1,64}$/.test(requestId) ? requestId : 'unknown';
    await this.deps.audit.append(
      attemptRefused(
        { stream: attemptsStream(id), actor, subject: `request:${id}`, correlation: { requestId: id } },
        { code, reason },
      ),
    );
  }

  private async load(requestId: string): Promise<AccessRequest> {
    const request = await this.deps.requests.get(requestId);
    if (!request) throw new DomainError('REQUEST.NOT_FOUND', `There is no request ${requestId}.`);
    return request;
  }

  private roleOf(request: AccessRequest): CatalogRole {
    const role = findRole(this.deps.catalog.catalog, request.appId, request.roleId);
    if (!role)
      throw new DomainError(
        'CATALOG.UNKNOWN_ROLE',
        `Role ${request.appId}/${request.roleId} is no longer in the catalog.`,
      );
    return role;
  }

  /** Runs `check`; a DomainError it throws is audited as a refused attempt, then rethrown. */
  private async guard(actor: AuditActor, request: AccessRequest, check: () => unknown): Promise<void> {
    try {
      check();
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      await this.deps.audit.append(
        attemptRefused(
          {
            stream: attemptsStream(request.id),
            actor,
            subject: `app:${request.appId}/role:${request.roleId}`,
            correlation: { requestId: request.id },
          },
          { code: err.code, reason: err.message },
        ),
      );
      throw err;
    }
  }
}

/** Extend and revoke act on a grant that is active now. */
function assertActive(request: AccessRequest): void {
  if (request.status !== 'Active') {
    throw new DomainError(
      'REQUEST.NOT_ACTIVE',
      `Request ${request.id} is ${request.status.toLowerCase()}, not active.`,
    );
  }
}
