/**
 * Telling people what happened: approvers that a decision waits on them, requesters how their request is
 * going. They are kept in an outbox table, and the Teams adapter delivers them as cards.
 */

/** What a notification is about. */
export type NotificationKind =
  | 'request-submitted'
  | 'approval-requested'
  | 'approval-escalated'
  /** To the requester: approvers of a stage could not be reached, and what was done about it. */
  | 'approvers-unreachable'
  | 'decision-recorded'
  | 'decision-refused'
  | 'request-denied'
  | 'request-expired-undecided'
  | 'access-granted'
  | 'expiry-reminder'
  | 'extension-decided'
  | 'access-revoked'
  | 'provisioning-failed'
  /** To Attest admins: one digest a day of ended grants whose removal from the group is overdue. */
  | 'revocations-overdue'
  /** To Attest admins: a period's evidence e-mail could not be prepared or sent after every try. */
  | 'evidence-mail-failed';

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

/** What became of a notification. */
export interface NotifyResult {
  /**
   * Recipients the channel cannot reach at all (in Teams: the app is not installed for them, or was removed).
   * The workflow escalates a stage whose approvers it cannot reach. Empty when everyone was reached or when
   * the notifier has no channel to people (the outbox alone).
   */
  unreachable: string[];
}

/** Sends notifications. */
export interface Notifier {
  notify(notification: Notification): Promise<NotifyResult | void>;
}
