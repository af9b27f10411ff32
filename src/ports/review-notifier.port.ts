/**
 * Telling reviewers (and the sign-off manager, and admins) about a campaign. The orchestration's activities
 * call it; the outbox table keeps every notice, and the Teams adapter delivers it as a card (with the items on
 * the card when there are ten or fewer), or by e-mail through Graph sendMail when the bot cannot reach the
 * person.
 */
import type { ReviewItem } from '../domain/review/review.model';

/** What a review notice is about. */
export type ReviewNoticeKind =
  /** A reviewer has items at a stage that just opened. */
  | 'review-assigned'
  /** Reminder before a stage's deadline, only to reviewers with items left. */
  | 'review-reminder'
  /** Items were handed to this reviewer by another. */
  | 'review-delegated'
  /** To admins: a default or bulk removal waits for confirmation in the tab. */
  | 'review-guard-held'
  /** To the sign-off manager: the campaign is complete and waits for sign-off. */
  | 'review-signoff-requested';

/** One notice to one person. */
export interface ReviewNotice {
  kind: ReviewNoticeKind;
  /** Unique per notice, so a retried activity sends nothing twice. */
  id: string;
  campaignId: string;
  campaignName: string;
  recipientId: string;
  /** The recipient's items waiting at this moment, and all they have in the campaign. */
  pending: number;
  total: number;
  /** ISO time the current stage closes. */
  deadline: string;
  /** The pending items themselves when there are at most ten (decidable on the card). */
  items?: ReviewItem[];
  /** A sentence for people. */
  text: string;
}

/** How a notice reached its recipient. */
export interface ReviewNoticeResult {
  via: 'teams' | 'email' | 'outbox';
}

/** Sends review notices. */
export interface ReviewNotifier {
  notifyReviewer(notice: ReviewNotice): Promise<ReviewNoticeResult>;
}
