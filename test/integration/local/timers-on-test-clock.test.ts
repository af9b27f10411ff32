import { TableNames } from '../../../src/adapters/tables/table-names';
import { eventually } from '../../support/storage';
import { TestClock } from '../../support/test-clock';
import { startWorkflowHost, type WorkflowHost } from '../../support/workflow-host';

const clock = new TestClock(new Date('2026-11-22T10:00:00Z'));
let w: WorkflowHost;
beforeAll(async () => (w = await startWorkflowHost({ clock })), 60000);
afterAll(async () => w?.stop());

/** The times of the digests written so far (rows of the digest table that carry one). */
async function digestTimes(): Promise<string[]> {
  const times: string[] = [];
  for await (const row of w.host.tables.client(TableNames.auditDigests).listEntities<{ time?: string }>()) {
    if (typeof row.time === 'string') times.push(row.time);
  }
  return times.sort();
}

test('the local host runs its timers on the test clock: the daily digest fires once per 02:00 the clock passes', async () => {
  await new Promise((r) => setTimeout(r, 500));
  expect(await digestTimes()).toEqual([]); // wall time passed; the test clock did not reach 02:00

  // The first interval tick passed (10:15) writes the first digest, as the log already holds events and has
  // no digest; the later ones find nothing changed. Then the daily digest fires at 02:00.
  clock.advance(16 * 3600_000 + 60_000); // 2026-11-23T02:01
  await eventually(async () => ((await digestTimes()).length === 2 ? true : undefined), 20000, 'two digests');

  clock.advance(2 * 24 * 3600_000); // 2026-11-25T02:01: two more 02:00s passed
  const times = await eventually(
    async () => ((await digestTimes()).length === 4 ? digestTimes() : undefined),
    20000,
    'four digests',
  );
  // Written on the test clock, not on wall time.
  expect(times.every((t) => t.startsWith('2026-11-2'))).toBe(true);
  await new Promise((r) => setTimeout(r, 500));
  expect(await digestTimes()).toHaveLength(4); // each daily occurrence once, no interval digest without a change
});
