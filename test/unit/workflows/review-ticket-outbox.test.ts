import {
  reviewApplied,
  reviewDecided,
  reviewStream,
  attemptRefused,
} from '../../../src/domain/audit/audit-events';
import { reviewTicketOutbox } from '../../../src/workflows/review-ticket-outbox';

const ctx = (campaignId: string) => ({
  stream: reviewStream(campaignId),
  actor: { objectId: 'u-mgr', upn: 'mgr@contoso.test', channel: 'tab' as const },
  subject: `campaign:${campaignId}`,
});

const applied = (outcome: 'applied' | 'cannot-apply') =>
  reviewApplied(ctx('q1'), {
    itemId: 'g-1:u-ada',
    group: { id: 'g-1' },
    userId: 'u-ada',
    decision: { stage: 1, by: 'u-mgr', source: 'reviewer', at: '2026-11-30T00:00:00Z' },
    outcome,
    endedRequestIds: ['r-1', 'r-2'],
  });

test('with tickets off a review event owes no ticket update', () => {
  expect(reviewTicketOutbox(undefined, applied('applied'))).toEqual({});
});

test("a carried-out revocation goes to the campaign's ticket and to each ended request's ticket if it exists", () => {
  const rows = reviewTicketOutbox('jira', applied('applied')).outbox ?? [];
  expect(
    rows.map((r) => [
      r.target,
      (r.payload as { correlationId: string; mode: string }).correlationId,
      (r.payload as { mode: string }).mode,
    ]),
  ).toEqual([
    ['jira', 'campaign:q1', 'campaign'],
    ['jira', 'r-1', 'existing'],
    ['jira', 'r-2', 'existing'],
  ]);
  expect(rows[0].payload).toMatchObject({
    campaignId: 'q1',
    action: 'review.applied',
    actor: 'mgr@contoso.test',
  });
  // A revocation that could not be applied ended nothing: only the campaign's ticket hears of it.
  expect(reviewTicketOutbox('servicenow', applied('cannot-apply')).outbox).toHaveLength(1);
});

test('large details are summarised in the outbox row (the event keeps them), and refusals with no campaign owe nothing', () => {
  const items = Array.from({ length: 400 }, (_, i) => ({
    itemId: `g-1:u-${i}`,
    decision: 'keep' as const,
    final: true,
  }));
  const [row] =
    reviewTicketOutbox('jira', reviewDecided(ctx('q1'), { stage: 1, source: 'bulk', items })).outbox ?? [];
  expect((row.payload as { details: unknown }).details).toMatchObject({ items: 400 });
  expect(JSON.stringify(row.payload).length).toBeLessThan(2000);
  expect(
    reviewTicketOutbox(
      'jira',
      attemptRefused(ctx('none'), { code: 'REVIEW.NOT_FOUND', reason: 'no campaign' }),
    ),
  ).toEqual({});
});
