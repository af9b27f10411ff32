import type { CampaignDefinition } from '../../../src/domain/review/review.model';
import { dueTime, scheduleExpression } from '../../../src/workflows/review-schedule';
import { campaignIdFor } from '../../../src/workflows/review.service';

const HOUR = 3_600_000;
const def = (schedule: CampaignDefinition['schedule']) => ({ schedule }) as CampaignDefinition;

test('monthly and quarterly campaigns fall due on the 1st at 06:00 UTC; on-demand never', () => {
  expect(scheduleExpression({ kind: 'on-demand' })).toBeUndefined();
  expect(dueTime(def({ kind: 'on-demand' }), new Date('2026-04-01T06:10:00Z'))).toBeUndefined();
  expect(dueTime(def({ kind: 'monthly' }), new Date('2026-05-01T06:10:00Z'))?.toISOString()).toBe(
    '2026-05-01T06:00:00.000Z',
  );
  expect(dueTime(def({ kind: 'quarterly' }), new Date('2026-04-01T07:00:00Z'))?.toISOString()).toBe(
    '2026-04-01T06:00:00.000Z',
  );
  expect(dueTime(def({ kind: 'quarterly' }), new Date('2026-05-01T07:00:00Z'))).toBeUndefined();
});

test('a due time is found for a day after it, so a host down for hours still starts the campaign, and not later', () => {
  const cron = def({ kind: 'cron', expression: '0 30 9 * * 1' }); // Mondays 09:30
  expect(dueTime(cron, new Date('2026-11-23T09:29:00Z'))).toBeUndefined();
  expect(dueTime(cron, new Date('2026-11-23T09:30:00Z'))?.toISOString()).toBe('2026-11-23T09:30:00.000Z');
  expect(dueTime(cron, new Date(Date.parse('2026-11-23T09:30:00Z') + 23 * HOUR))?.toISOString()).toBe(
    '2026-11-23T09:30:00.000Z',
  );
  expect(dueTime(cron, new Date(Date.parse('2026-11-23T09:30:00Z') + 25 * HOUR))).toBeUndefined();
});

test('the campaign id carries the due time, so each due time starts one campaign', () => {
  expect(campaignIdFor('q-review', '2026-04-01T06:00:00.000Z')).toBe('q-review-20260401T060000Z');
});
