/**
 * Where the current state of each access request is kept for lookups (my access, pending approvals, the
 * application API's checks). The audit log is the record; this is its queryable projection, written by the
 * orchestration after each step.
 */
import type { AccessRequest } from '../domain/request/access-request';

/** Access requests by id and by requester. */
export interface RequestStore {
  /** Writes the request's current state (insert or replace). */
  save(request: AccessRequest): Promise<void>;
  get(id: string): Promise<AccessRequest | undefined>;
  /** The requester's requests, newest first. */
  byRequester(requesterId: string): Promise<AccessRequest[]>;
  /** Requests whose current stage waits on `approverId` (asked, not yet decided), oldest first. */
  awaitingDecisionBy(approverId: string): Promise<AccessRequest[]>;
}
