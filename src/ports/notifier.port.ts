/**
 * Telling people what happened: approvers that a decision waits on them, requesters how their request is
 * going. The Teams adapter delivers these as cards; until then they are kept in an outbox table.
 */

/** What a notification is about. */
export type NotificationKind =
  | 'request-submitted'
  | 'approval-requested'
  | 'approval-escalated'
  | 'decision-recorded'
  | 'decision-refused'
  | 'request-denied'
  | 'request-expired-undecided'
  | 'access-granted'
  | 'expiry-reminder'
  | 'extension-decided'
  | 'access-revoked'
  | 'provisioning-failed';

/** One message to one or more people. */
export interface Notification {
  kind: NotificationKind;
  requestId: string;
  /** Entra object ids. */
  recipients: string[];
  text: string;
  /** Unique per notification, so a retried activity does not notify twice. */
  id: string;
}

/** Sends notifications. */
export interface Notifier {
  notify(notification: Notification): Promise<void>;
}
