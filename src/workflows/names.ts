/**
 * Every function, orchestration, activity and external event name, in one place. Call sites never spell
 * them as strings.
 */
export const FunctionNames = {
  /** POST /api/messages: the Teams bot. */
  botMessages: 'bot-messages',
  /** The daily Merkle digest over every audit stream's head. */
  auditDigest: 'audit-digest',
  /** Timer: a digest every ATTEST_DIGEST_INTERVAL_MINUTES when any stream moved; also retries anchoring. */
  auditDigestInterval: 'audit-digest-interval',
  /** Timer: starts the membership reconcile (schedule ATTEST_RECONCILE_SCHEDULE) unless one is running. */
  membershipReconcileTimer: 'membership-reconcile-timer',
  /** GET /api/tab/{*path}: the review tab's static files (dist/tab). */
  tabStatic: 'tab-static',
  /** GET /api/tab/auth/me: who the tab's token is for, and their role. */
  tabAuthMe: 'tab-auth-me',
  /** GET /api/tab/auth/jwks: the local issuer's public keys (ATTEST_TAB_AUTH=local only). */
  tabAuthJwks: 'tab-auth-jwks',
  /** POST /api/tab/auth/token: a token from the local issuer (ATTEST_TAB_AUTH=local only). */
  tabAuthToken: 'tab-auth-token',
  /** GET /api/tab/auth/signin: the local sign-in page (ATTEST_TAB_AUTH=local only). */
  tabAuthSignIn: 'tab-auth-signin',
  /** Timer: starts the offboarding sweep (schedule ATTEST_OFFBOARDING_SCHEDULE) unless one is running. */
  offboardingTimer: 'offboarding-timer',
  /** Timer: one ticket-sync drain (schedule ATTEST_TICKETS_SYNC_SCHEDULE) unless another drain holds the lease. */
  ticketSyncTimer: 'ticket-sync-timer',
  /** Timer: counts pending approvals, overdue revocations, parked ticket rows and drift findings for the gauges. */
  workCountsTimer: 'work-counts-timer',
  /** The tab API (routes under /api/tabapi/v1, src/functions/tab-api.ts). */
  tabMe: 'tab-me',
  tabItems: 'tab-items',
  tabDecide: 'tab-decide',
  tabDelegate: 'tab-delegate',
  tabCampaigns: 'tab-campaigns',
  tabDefinitions: 'tab-definitions',
  tabProgress: 'tab-progress',
  tabConfirm: 'tab-confirm',
  tabClose: 'tab-close',
  tabSignOff: 'tab-signoff',
  tabResults: 'tab-results',
  tabAccessByUser: 'tab-access-by-user',
  tabAccessByGroup: 'tab-access-by-group',
  tabAuditTrail: 'tab-audit-trail',
  tabEvidence: 'tab-evidence',
  /** Timer: starts the catalog's review campaigns that are due (once per due time). */
  reviewScheduleTimer: 'review-schedule-timer',
  /** Timer: starts the evidence e-mail of the period that just ended (schedule ATTEST_EVIDENCE_MAIL_SCHEDULE). */
  evidenceMailTimer: 'evidence-mail-timer',
} as const;

/** Orchestrations. */
export const OrchestrationNames = {
  accessRequest: 'access-request',
  /** Compares the catalog's groups in the directory with the membership ledger (a singleton instance). */
  membershipReconcile: 'membership-reconcile',
  /** Finds users disabled or deleted in Entra and takes their access away (a singleton instance). */
  offboardingSweep: 'offboarding-sweep',
  /** One access-review campaign: snapshot, stages, reminders, deadlines, the guard, carrying decisions out. */
  reviewCampaign: 'review-campaign',
  /** One period's evidence e-mail: build the bundle, send it (retried), or tell the admins (one per period). */
  evidenceMail: 'evidence-mail',
} as const;

/** The instance id of a period's evidence e-mail: one per period, so a second tick for it starts nothing. */
export function evidenceMailInstanceId(periodKey: string): string {
  return `evidence-mail-${periodKey}`;
}

/** The instance id of a campaign's orchestration. */
export function reviewInstanceId(campaignId: string): string {
  return `review-${campaignId}`;
}

/** The instance id of the membership reconcile: one at a time, so a run still going skips the next tick. */
export const MEMBERSHIP_RECONCILE_INSTANCE = 'membership-reconcile';

/** The instance id of the offboarding sweep: one at a time, so a run still going skips the next tick. */
export const OFFBOARDING_INSTANCE = 'offboarding-sweep';

/** Activities: each one idempotent operation. */
export const ActivityNames = {
  /** Append one audit event at an expected sequence number and save the request projection. */
  recordStep: 'request-record-step',
  /** Resolve a stage's approvers through the directory. */
  resolveApprovers: 'request-resolve-approvers',
  /** Look a person up (a fallback approver named by UPN). */
  resolvePerson: 'request-resolve-person',
  /** Add the requester to the role's group. */
  grantAccess: 'request-grant-access',
  /** Remove the requester from the role's group. */
  revokeAccess: 'request-revoke-access',
  /** Tell people what happened. */
  notify: 'request-notify',
  /** Save the request's state with no audit event. */
  saveState: 'request-save-state',
  /** How many batches of ≤50 catalog groups the reconcile sweeps. */
  reconcilePlan: 'reconcile-plan',
  /** Reconcile one batch of catalog groups (a delta round, or a full sweep) with the ledger. */
  reconcileBatch: 'reconcile-batch',
  /** Carry out a slice of the overdue removals (ended grants still owed a removal), paced under Graph's quota. */
  reconcileOverdue: 'reconcile-overdue',
  /** One digest to Attest admins of the removals still overdue (one per day). */
  reconcileOverdueDigest: 'reconcile-overdue-digest',
  /** A users delta round (or a full sweep when the link is refused): who left since the last round. */
  offboardingFindLeavers: 'offboarding-find-leavers',
  /** Takes every Attest grant and catalog-group membership of one leaver away, and closes their requests. */
  offboardingOffboardUser: 'offboarding-offboard-user',
  /** Saves the users delta link once a round's leavers are all handled. */
  offboardingSaveLink: 'offboarding-save-link',
  /** Resolve a campaign's scope into chunks of groups and store them. */
  reviewPlan: 'review-plan',
  /** Snapshot one chunk of a campaign's groups into items. */
  reviewSnapshotChunk: 'review-snapshot-chunk',
  /** Seal the snapshot (count + hash, audited) and open the campaign; or drop it when empty. */
  reviewOpen: 'review-open',
  /** Move every item to the next stage with that stage's reviewers. */
  reviewAdvance: 'review-advance',
  /** Tell reviewers with items left at a stage (assigned or reminder). */
  reviewNotify: 'review-notify',
  /** At a stage's deadline: the default for undecided items, through the mass-removal guard. */
  reviewDeadline: 'review-deadline',
  /** Turn guard-held decisions into decisions once an admin confirmed. */
  reviewRelease: 'review-release',
  /** Carry out a slice of final decisions (governed removal, close Attest requests). */
  reviewApply: 'review-apply',
  /** After a continue-as-new: what the campaign row says of a close or a confirm the signal may have lost. */
  reviewResume: 'review-resume',
  /** Close the campaign: counts, audit, ask the sign-off manager. */
  reviewComplete: 'review-complete',
  /** Build a period's evidence bundle, zip it, write it to the immutable container, record it (once per period). */
  evidenceMailPrepare: 'evidence-mail-prepare',
  /** Send a period's evidence e-mail, unless its record says it was sent. */
  evidenceMailSend: 'evidence-mail-send',
  /** Record a period's evidence e-mail as failed and tell Attest admins (once per period). */
  evidenceMailReport: 'evidence-mail-report',
} as const;

/** External events an access-request orchestration waits for. */
export const EventNames = {
  /** An approver's decision (payload: DecisionEvent). */
  decision: 'Decision',
  /** Early revoke by the requester or an admin (payload: RevokeEvent). */
  revoke: 'Revoke',
  /** The requester asks to keep access longer (payload: ExtendEvent). */
  extend: 'Extend',
  /** To a review campaign: apply what is final now, an admin confirmed the guard, or close now (ReviewSignal). */
  reviewSignal: 'ReviewSignal',
} as const;
