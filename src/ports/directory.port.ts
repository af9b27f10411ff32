/**
 * The directory as the domain and the workflows need it: people, their managers, and membership of the
 * security groups behind app roles. Microsoft Graph implements it in production and against the local
 * simulator (src/adapters/graph/graph-directory.ts); tests may fake it.
 */
import { DomainError } from '../domain/domain-error';

/** A person in the directory, in the projection Attest reads everywhere. */
export interface DirectoryUser {
  /** Entra object id (lowercase GUID). */
  id: string;
  displayName: string;
  userPrincipalName: string;
  mail?: string;
  department?: string;
  jobTitle?: string;
  /** False for a disabled account: it cannot sign in, so it cannot approve or use a grant. */
  accountEnabled: boolean;
}

/**
 * A group as Attest must know it before it promises to change its membership: Graph cannot add to or remove
 * from every kind of group.
 */
export interface DirectoryGroup {
  id: string;
  displayName: string;
  /** `groupTypes` as Graph reports it (`Unified` for Microsoft 365 groups, `DynamicMembership`). */
  groupTypes: string[];
  securityEnabled: boolean;
  /** Mail-enabled security groups and distribution lists are managed in Exchange, not through Graph. */
  mailEnabled: boolean;
  /** Synced from on-premises Active Directory: membership is changed there, never through Graph. */
  onPremisesSyncEnabled: boolean;
  /** Role-assignable: Graph changes its members only with RoleManagement.ReadWrite.Directory as well. */
  isAssignableToRole: boolean;
}

/** One group's changes in a round of {@link Directory.groupMembersDelta}. */
export interface GroupMemberChanges {
  groupId: string;
  /** User ids that became members (on a first round: every current member). */
  added: string[];
  /** User ids that stopped being members. */
  removed: string[];
  /** The group itself was deleted. */
  groupDeleted?: boolean;
}

/** A round of member changes for a set of groups, and where the next round starts. */
export interface GroupMembershipDelta {
  /** At most one entry per group, with every page of the round merged. */
  changes: GroupMemberChanges[];
  /** Opaque: pass it back as `{ deltaLink }` for what changed since. */
  deltaLink: string;
}

/** One user's change in a round of {@link Directory.usersDelta}. */
export interface UserChange {
  /** Entra object id (lowercase). */
  userId: string;
  /** The account's state now, when the round reported it (absent for a deleted user). */
  accountEnabled?: boolean;
  /** The user was deleted (soft or permanently). */
  deleted?: boolean;
}

/** A round of user changes, and where the next round starts. */
export interface UsersDelta {
  /** At most one entry per user, with every page of the round merged. A first round lists every user. */
  changes: UserChange[];
  /** Opaque: pass it back as `{ deltaLink }` for what changed since. */
  deltaLink: string;
}

/** Whether an add changed the group; `already-member` is success, so a repeated grant is harmless. */
export interface AddMemberResult {
  outcome: 'added' | 'already-member';
  /** Graph's request-id of the call that decided the outcome, for the audit event. */
  requestId?: string;
}

/** Whether a remove changed the group; `not-member` is success, so a repeated revoke is harmless. */
export interface RemoveMemberResult {
  outcome: 'removed' | 'not-member';
  /** Graph's request-id of the call that decided the outcome, for the audit event. */
  requestId?: string;
}

/**
 * Reads and writes of the directory. Every method either answers or throws a {@link DirectoryError}; none
 * returns a half result. `isMember`, `groupMembers`, `addMember` and `removeMember` are about direct
 * membership, because access is granted by adding a person directly to the group behind a role;
 * `isTransitiveMember` and `memberGroupIds` follow nested groups, because that is what the catalog means by
 * "members of group X" (eligibility, auto-approval, the admin group).
 */
export interface Directory {
  /** The user with this object id or userPrincipalName, or undefined when the directory has none. */
  getUser(idOrUpn: string): Promise<DirectoryUser | undefined>;

  /**
   * Users whose userPrincipalName starts with `prefix` (case-insensitive), at most `top` (default 25, at most
   * 999). Any character may appear in the prefix: quotes, `&`, `#` and `+` are escaped, never interpreted.
   */
  findUsersByUpnPrefix(prefix: string, top?: number): Promise<DirectoryUser[]>;

  /**
   * `[manager, manager's manager, ...]`, at most `levels` long. The walk stops at the top of the chart (a
   * user without a manager), and before a person already seen, so a cyclic chart never loops. A disabled
   * manager is included (with `accountEnabled: false`) and the walk goes on past them: whether a disabled
   * person may be skipped as an approver is policy, decided by the domain, not by the directory. A user
   * without a manager gets `[]`; an unknown user is DIRECTORY.NOT_FOUND.
   */
  managerChain(userId: string, levels: number): Promise<DirectoryUser[]>;

  /** The owners of the group that are users. Unknown group: DIRECTORY.NOT_FOUND. */
  groupOwners(groupId: string): Promise<DirectoryUser[]>;

  /** The group's kind and flags, or undefined when the directory has no such group. */
  getGroup(groupId: string): Promise<DirectoryGroup | undefined>;

  /** Every direct member of the group that is a user, across all pages. Unknown group: DIRECTORY.NOT_FOUND. */
  groupMembers(groupId: string): Promise<DirectoryUser[]>;

  /**
   * Several groups at once, each with its kind and every direct member that is a user (all pages), in as few
   * requests as the directory allows (Graph: the group and its first members page for 20 groups per `$batch`,
   * then any further pages). A group the directory does not have maps to undefined. Optional: callers fall back
   * to {@link getGroup} and {@link groupMembers} per group.
   */
  groupsWithMembers?(
    groupIds: string[],
  ): Promise<Map<string, { group: DirectoryGroup; members: DirectoryUser[] } | undefined>>;

  /** Whether the user is a direct member of the group. Unknown group: DIRECTORY.NOT_FOUND. */
  isMember(groupId: string, userId: string): Promise<boolean>;

  /**
   * Whether the user is a member of the group directly or through nested groups (what the catalog means by
   * "members of group X" for eligibility, auto-approval and the admin group). Unknown group: DIRECTORY.NOT_FOUND.
   */
  isTransitiveMember(groupId: string, userId: string): Promise<boolean>;

  /**
   * Which of `candidateGroupIds` the user is a member of, directly or through nested groups (Graph's
   * checkMemberGroups), in the order given, without duplicates. A candidate group that does not exist is
   * DIRECTORY.NOT_FOUND (a catalog naming a deleted group is a mistake someone should fix, not a silent "no").
   */
  memberGroupIds(userId: string, candidateGroupIds: string[]): Promise<string[]>;

  /**
   * Member changes of groups since a previous round (Graph `groups/delta` with `members@delta`). Start with
   * `{ groupIds }` (at most 50 per round, Graph's `$filter` limit): the first round reports every current
   * member as added. Continue with `{ deltaLink }`. A delta link the directory no longer honours is
   * DIRECTORY.DELTA_EXPIRED: start again with `{ groupIds }` (a full sweep).
   */
  groupMembersDelta(start: { groupIds: string[] } | { deltaLink: string }): Promise<GroupMembershipDelta>;

  /**
   * Users changed since a previous round (Graph `users/delta`, every page). Start with `{ initial: true }`: the
   * first round lists every user in the tenant with `accountEnabled`. Continue with `{ deltaLink }`: only users
   * whose account changed or who were deleted. A delta link the directory no longer honours is
   * DIRECTORY.DELTA_EXPIRED: start again with `{ initial: true }` (a full sweep).
   */
  usersDelta(start: { initial: true } | { deltaLink: string }): Promise<UsersDelta>;

  /** Adds the user to the group; idempotent. Unknown group or user: DIRECTORY.NOT_FOUND. */
  addMember(groupId: string, userId: string): Promise<AddMemberResult>;

  /** Removes the user from the group; idempotent. Unknown group: DIRECTORY.NOT_FOUND. */
  removeMember(groupId: string, userId: string): Promise<RemoveMemberResult>;

  /**
   * The most recent sign-in (interactive or not) of each user, null for a user who never signed in. Ids the
   * directory does not know (deleted users) are absent from the map rather than failing the whole call, so
   * one departed person does not block an access review.
   */
  lastSignIns(userIds: string[]): Promise<Map<string, Date | null>>;
}

/** The stable codes of directory failures. */
export type DirectoryErrorCode =
  /** The user or group named does not exist. */
  | 'DIRECTORY.NOT_FOUND'
  /** The directory kept answering "too many requests" after every retry. */
  | 'DIRECTORY.THROTTLED'
  /** The directory could not be reached or kept answering "unavailable" after every retry. */
  | 'DIRECTORY.UNAVAILABLE'
  /** Attest's identity lacks a permission, or its token was refused. */
  | 'DIRECTORY.FORBIDDEN'
  /** A delta link the directory no longer honours (expired or unknown sync state): sweep again in full. */
  | 'DIRECTORY.DELTA_EXPIRED'
  /** Anything else the directory refused. */
  | 'DIRECTORY.FAILED';

/**
 * Whether `err` says the directory is down or throttling for now (not a refusal): the caller answers at once and
 * tries again on its next tick, rather than retrying in place.
 */
export function isDirectoryOutage(err: unknown): err is DomainError {
  return (
    err instanceof DomainError && (err.code === 'DIRECTORY.UNAVAILABLE' || err.code === 'DIRECTORY.THROTTLED')
  );
}

/**
 * What a directory failure carries for logs, audit and support. NB. A type alias, not an interface, so it
 * stays assignable to DomainError's `Record<string, unknown>` details.
 */
export type DirectoryErrorDetails = {
  /** The Directory method that failed, e.g. `addMember`. */
  operation: string;
  /** HTTP status of the directory's answer; absent when there was no answer (network failure). */
  status?: number;
  /** The directory's own error code, e.g. Graph's `Request_ResourceNotFound` or `TooManyRequests`. */
  graphCode?: string;
  /** The directory's id of the failing request (Graph's `request-id`), to quote to Microsoft support. */
  requestId?: string;
  /** The directory's own message. */
  graphMessage?: string;
  /** Seconds the directory asked us to wait, when it said. */
  retryAfterSeconds?: number;
  /** The object the failure is about (a user or group id). */
  target?: string;
};

/** A directory failure with a stable code and a message a person can act on. */
export class DirectoryError extends DomainError {
  constructor(
    override readonly code: DirectoryErrorCode,
    message: string,
    override readonly details: Readonly<DirectoryErrorDetails>,
  ) {
    super(code, message, { ...details });
    this.name = 'DirectoryError';
  }
}
