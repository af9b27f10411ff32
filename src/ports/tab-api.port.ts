/**
 * The tab API's answers as they travel (JSON), beside the review contract (review-api.port.ts): who has
 * access with the ledger's claims behind each membership, an audit trail with its verification, and who is
 * asking. The tab (src/tab) and the http functions (src/functions/tab-api.ts) both read these types.
 */
import type { AuditEvent } from '../domain/audit/audit-event.model';
import type { MembershipClaim } from '../domain/ledger/membership-ledger';

/** The signed-in caller, as the server resolved them (the role never comes from the client). */
export interface TabMe {
  objectId: string;
  upn?: string;
  displayName?: string;
  role: 'admin' | 'auditor' | 'member';
}

/** One membership as "Who has access" shows it. */
export interface AccessRow {
  groupId: string;
  groupName: string;
  /** The catalog role behind the group, `appId/roleId`, when there is one. */
  roleRef?: string;
  appName?: string;
  roleName?: string;
  userId: string;
  userDisplayName: string;
  userPrincipalName: string;
  /** Present in the directory now (false: only the ledger remembers it, e.g. removal owed or gone outside). */
  present: boolean;
  /** The ledger's claims: each Attest grant (with its request) or an outside claim. Empty: Attest never touched it. */
  claims: MembershipClaim[];
  /** No Attest grant holds it: added outside Attest (or there before Attest looked). */
  outsideAttest: boolean;
  /** Removals decided and not yet carried out. */
  owedRemovals: number;
  /** The reconciler's findings on this membership. */
  findings: { kind: 'added-outside' | 'removed-outside'; foundAt: string; requestIds?: string[] }[];
}

/** "Who has access" for one person or one group (an app's role). */
export interface AccessAnswer {
  subject: { kind: 'user' | 'group'; id: string; name: string };
  rows: AccessRow[];
}

/** One stream's events and whether its hash chain holds, from the verifier `attest verify` uses. */
export interface AuditTrail {
  stream: string;
  events: AuditEvent[];
  verification:
    | { ok: true; events: number; headHash?: string }
    | { ok: false; seq?: number; problem: string; message: string };
}

/** A catalog review definition an admin may start from the tab. */
export interface DefinitionSummary {
  id: string;
  name: string;
  defaultDecision: 'keep' | 'revoke' | 'recommendation';
  massRemovalShare: number;
  stages: number;
  groups: number;
}
