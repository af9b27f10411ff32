/**
 * The access catalog as the rest of Attest sees it once it has been validated: apps, their roles, the Entra
 * group behind each role and the policy that governs a request for it. Every value here is resolved (durations
 * in milliseconds, stage defaults applied, conflicts made symmetric), so callers never re-interpret the file.
 */

import type { CampaignDefinition } from '../review/review.model';

/** `appId/roleId`: how a role is named across the catalog, in conflicts and on a request. */
export type RoleRef = `${string}/${string}`;

/** A length of time in milliseconds, or `'permanent'` for access with no end date. */
export type DurationValue = number | 'permanent';

/** The whole catalog. `id`, `version` and the loader's content hash are what a request records. */
export interface Catalog {
  readonly id: string;
  readonly name: string;
  /** As written by the admin; compared as text, never ordered. */
  readonly version: string;
  readonly description?: string;
  readonly apps: readonly CatalogApp[];
  /** Access-review campaign definitions (the `reviews:` section); absent or empty when none. */
  readonly reviews?: readonly CampaignDefinition[];
}

/** One application and its roles, in file order. */
export interface CatalogApp {
  readonly id: string;
  readonly name: string;
  readonly description?: string;
  /** Other names people use for the app, for matching what they type in chat. */
  readonly synonyms?: readonly string[];
  readonly roles: readonly CatalogRole[];
}

/** One grantable role: membership of `groupId` is the access. */
export interface CatalogRole {
  readonly appId: string;
  readonly id: string;
  readonly ref: RoleRef;
  readonly name: string;
  readonly description?: string;
  /** Other names people use for the role, for matching what they type in chat. */
  readonly synonyms?: readonly string[];
  /** Lower-case GUID of the Entra security group whose membership is the access. */
  readonly groupId: string;
  readonly eligibility: Eligibility;
  readonly approval: { readonly stages: readonly ApprovalStage[] };
  readonly duration: DurationPolicy;
  readonly justification: JustificationPolicy;
  readonly ticketReference: TicketReferencePolicy;
  /** Absent: every request goes through the approval stages. */
  readonly autoApprove?: AutoApproveRule;
  /** Roles that must not be held together with this one, in both directions (the catalog lists one side). */
  readonly conflicts: readonly RoleRef[];
}

/** Who may ask. Both lists empty means everyone in the tenant; otherwise membership of ANY group or department. */
export interface Eligibility {
  readonly groupIds: readonly string[];
  readonly departments: readonly string[];
}

/** Where a stage's approvers come from. */
export type ApproverSource =
  /** `levels: 1` is the requester's manager, `2` the manager's manager, and so on up the chain. */
  | { readonly kind: 'manager'; readonly levels: number }
  /** The owners of the role's own group. */
  | { readonly kind: 'group-owners'; readonly groupId: string }
  /** Named people, as user object ids or UPNs (de-duplicated, case-insensitively). */
  | { readonly kind: 'people'; readonly people: readonly string[] }
  /** Members of a given group, resolved when the stage starts. */
  | { readonly kind: 'group-members'; readonly groupId: string };

/** How many of a stage's approvers must approve: one, every one, or a number. */
export type Quorum = 'any' | 'all' | number;

/** One approval stage; stages run in order and each must be satisfied before the next starts. */
export interface ApprovalStage {
  /** 1-based, as people count them. */
  readonly number: number;
  readonly name?: string;
  readonly approvers: ApproverSource;
  readonly quorum: Quorum;
  readonly timeoutMs: number;
  /** User id or UPN to escalate to when the stage times out or resolves to nobody. */
  readonly fallback: string;
}

/** How long access lasts. NB. `defaultMs <= maxMs` is guaranteed by the validator. */
export interface DurationPolicy {
  readonly defaultMs: DurationValue;
  readonly maxMs: DurationValue;
  /** Whether a request may ask for access with no end date. */
  readonly permanentAllowed: boolean;
}

/** Whether a request must say why, and how much. `minLength` counts characters after trimming. */
export interface JustificationPolicy {
  readonly required: boolean;
  readonly minLength: number;
}

/** Whether a request must cite a ticket, and the shape the reference must have. */
export interface TicketReferencePolicy {
  readonly required: boolean;
  /** Source of a regular expression that must match the WHOLE reference. */
  readonly pattern?: string;
  /** A reference that matches, shown to requesters who got it wrong. */
  readonly example?: string;
}

/** Conditions under which a request skips the approval stages; every condition present must hold. */
export interface AutoApproveRule {
  readonly requesterInGroup?: string;
  readonly requesterInDepartment?: string;
  readonly maxDurationMs?: number;
}

/** What a request records about the policy it was decided under. */
export interface CatalogStamp {
  readonly catalogId: string;
  readonly version: string;
  /** SHA-256 of the catalog file's bytes, lower-case hex (computed by the loader, not the domain). */
  readonly contentHash: string;
}
