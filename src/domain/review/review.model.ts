/**
 * Access reviews as the rest of Attest sees them: a campaign definition (from the catalog's `reviews:`
 * section or started by an admin from the tab), a campaign run with its counts, and one item per
 * (group, member) in its snapshot with each stage's decision. Items and decisions live in tables, never in
 * orchestration histories; the `review-campaign` orchestration holds counts and timers only.
 */
/** `appId/roleId`, as the catalog names a role (catalog.model.ts; repeated here so the two models do not import each other). */
type RoleRef = `${string}/${string}`;

/** Where a stage's reviewers come from. */
export type ReviewerSource =
  /** Each member's manager; a member with none (a guest) goes to the stage's fallback. */
  | { readonly kind: 'manager' }
  /** The owners of the group the membership is in. */
  | { readonly kind: 'group-owners' }
  /** Named people (object ids or UPNs). */
  | { readonly kind: 'people'; readonly people: readonly string[] }
  /** The member reviews their own membership, and must say why they keep it. */
  | { readonly kind: 'self' };

/** One review stage. A later stage sees earlier decisions; the last stage's decision stands. */
export interface ReviewStage {
  /** 1-based. */
  readonly number: number;
  readonly name?: string;
  readonly reviewers: ReviewerSource;
  /** Object id or UPN of who reviews an item when the source finds nobody (or only the member themself). */
  readonly fallback: string;
}

/** What happens to items nobody decided by the deadline. */
export type DefaultDecision = 'keep' | 'revoke' | 'recommendation';

/** When a campaign starts by itself. */
export type ReviewSchedule =
  | { readonly kind: 'on-demand' }
  | { readonly kind: 'monthly' }
  | { readonly kind: 'quarterly' }
  /** A 6-field NCRONTAB expression (second first), as in Azure Functions timers. */
  | { readonly kind: 'cron'; readonly expression: string };

/** What a campaign reviews: memberships of these groups (apps' and roles' groups resolved). */
export interface ReviewScope {
  readonly appIds: readonly string[];
  readonly roleRefs: readonly RoleRef[];
  readonly groupIds: readonly string[];
}

/** A campaign definition, resolved (durations in ms, defaults applied). */
export interface CampaignDefinition {
  readonly id: string;
  readonly name: string;
  readonly scope: ReviewScope;
  readonly stages: readonly ReviewStage[];
  readonly schedule: ReviewSchedule;
  /** From start to deadline, across all stages (each stage gets an equal share unless the stage says). */
  readonly durationMs: number;
  /** Reminders, as times before each stage's deadline, in ms (e.g. 3 days, 1 day). */
  readonly remindersBeforeMs: readonly number[];
  readonly defaultDecision: DefaultDecision;
  /** Object id or UPN of the manager who signs the result off. */
  readonly signOff: string;
  /** No sign-in for this many days recommends revoke (default 90). */
  readonly inactiveDays: number;
  /** A default or bulk action that would remove more than this share of the scope waits for an admin (0.2). */
  readonly massRemovalShare: number;
}

/** A decision on one item at one stage. */
export type ReviewDecisionValue = 'keep' | 'revoke';

/** Why Attest suggests what it suggests; each reason says it in words a reviewer reads. */
export type RecommendationReason =
  | { readonly kind: 'inactive'; readonly days: number; readonly lastSignIn: string | null }
  | { readonly kind: 'outside-attest' }
  | { readonly kind: 'not-eligible'; readonly roleRef: RoleRef }
  | { readonly kind: 'account-disabled' };

/** Keep, revoke, or nothing to suggest (then a take-the-recommendation default keeps). */
export interface Recommendation {
  readonly value: ReviewDecisionValue | 'none';
  readonly reasons: readonly RecommendationReason[];
  /** Set when sign-in data could not be read (no Entra ID P1/P2, no permission): never guessed. */
  readonly signInUnavailable?: boolean;
}

/** One stage's decision on an item. */
export interface StageDecision {
  readonly stage: number;
  readonly decision: ReviewDecisionValue;
  /** Object id of the reviewer, or `system` for the default decision. */
  readonly by: string;
  readonly at: string;
  readonly reason?: string;
  readonly source: 'reviewer' | 'bulk' | 'card' | 'default';
}

/** A hand-over of an item from one reviewer to another. */
export interface Delegation {
  readonly stage: number;
  readonly from: string;
  readonly to: string;
  readonly at: string;
  readonly reason?: string;
}

/** What happened when an item's final decision was applied. */
export type ApplyOutcome = 'kept' | 'applied' | 'already-gone' | 'cannot-apply' | 'failed-retrying';

/** One membership under review. */
export interface ReviewItem {
  readonly campaignId: string;
  /** `${groupId}:${userId}`. */
  readonly itemId: string;
  readonly groupId: string;
  readonly groupName: string;
  /** The catalog role behind the group, when there is one. */
  readonly roleRef?: RoleRef;
  readonly userId: string;
  readonly userDisplayName: string;
  readonly userPrincipalName: string;
  readonly accountEnabled: boolean;
  /** ISO time, null for never, absent when sign-in data is unavailable. */
  readonly lastSignIn?: string | null;
  readonly recommendation: Recommendation;
  /** Attest cannot remove this membership (dynamic or on-premises-synced group); flagged before anyone decides. */
  readonly notRemovableBecause?: string;
  /** The request ids of Attest grants on this membership, and whether the ledger knows it as outside Attest. */
  readonly grantRequestIds: readonly string[];
  readonly outsideAttest: boolean;
  /** The stage the item is at (it moves on when that stage decides it). */
  readonly stage: number;
  /** Who may decide it at its current stage. */
  readonly reviewerIds: readonly string[];
  readonly decisions: readonly StageDecision[];
  readonly delegations: readonly Delegation[];
  /** Set once the last stage decided (or the default applied). */
  readonly final?: ReviewDecisionValue;
  readonly outcome?: ApplyOutcome;
  readonly outcomeDetail?: string;
  /** Set just before a revocation is carried out, so a replay after a crash knows it may have happened. */
  readonly applyingSince?: string;
  /** A bulk decision held by the mass-removal guard until an admin confirms it (then it becomes a decision). */
  readonly held?: StageDecision;
  /** The reviewers the item had at its current stage before any delegation (so the original sees where it went). */
  readonly originalReviewerIds?: readonly string[];
}

/** Where a campaign is. */
export type CampaignStatus =
  | 'snapshotting'
  | 'active'
  /** A default or bulk removal over the guard's share waits for an admin to confirm it in the tab. */
  | 'awaiting-confirmation'
  | 'applying'
  | 'completed'
  | 'signed-off'
  | 'cancelled';

/** A campaign run. */
export interface Campaign {
  readonly id: string;
  readonly definition: CampaignDefinition;
  readonly status: CampaignStatus;
  readonly startedBy: string;
  readonly startedAt: string;
  readonly deadline: string;
  readonly stage: number;
  readonly snapshot?: { readonly count: number; readonly hash: string; readonly takenAt: string };
  readonly counts: CampaignCounts;
  /** A guarded removal waiting for (or given) an admin's confirmation. */
  readonly guard?: {
    readonly action: 'default' | 'bulk';
    readonly wouldRemove: number;
    readonly scopeSize: number;
    readonly share: number;
    readonly confirmedBy?: string;
    readonly confirmedAt?: string;
  };
  readonly signedOff?: { readonly by: string; readonly at: string; readonly note?: string };
  /**
   * An admin asked to close the campaign early. Recorded before the `close` signal is raised, so an orchestration
   * that continued as new (and may have dropped the signal on the way) still sees it.
   */
  readonly closeRequested?: { readonly by: string; readonly at: string };
  /** When the current stage closes (ISO). */
  readonly stageDeadline?: string;
  /** The sign-off manager, resolved to an object id at start. */
  readonly signOffId?: string;
}

/** Progress, overall. */
export interface CampaignCounts {
  readonly items: number;
  readonly decided: number;
  readonly kept: number;
  readonly revoked: number;
  readonly applied: number;
  readonly failed: number;
}
