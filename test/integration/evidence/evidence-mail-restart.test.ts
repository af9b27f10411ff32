/**
 * A host restart between a failed send and its retry loses nothing: the `evidence-mail` run's history and its
 * pending retry timer are in the task hub (Azurite), the delivery record in its table, so the restarted host
 * sends the mail once.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stopLeftoverAzurite } from '../../../src/local/azurite';
import type { GraphSimulator } from '../../../src/local/graph-sim/graph-sim';
import type { EvidenceMailOutcome } from '../../../src/workflows/evidence-mail.orchestration';
import { evidenceMailInstanceId } from '../../../src/workflows/names';
import type { EvidenceMailDeps } from '../../../src/workflows/workflow-deps';
import { keptMails } from '../../support/mailbox';
import { eventually } from '../../support/storage';
import { TestClock } from '../../support/test-clock';
import { letTimersRun, MINUTE } from '../../support/workflow-scenarios';
import { startWorkflowHost, type WorkflowHost } from '../../support/workflow-host';

const clock = new TestClock(new Date('2026-11-23T06:59:00Z'));
const env = {
  ATTEST_EVIDENCE_MAIL_SCHEDULE: '0 0 7 * * 1',
  ATTEST_RECONCILE_SCHEDULE: '0 0 0 1 1 *',
};
const KEY = '20261123T070000Z';
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-evidence-restart-'));
let w: WorkflowHost | undefined;

afterAll(async () => {
  await w?.stop();
  await stopLeftoverAzurite(dataDir);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('a send that failed before a restart is retried by the restarted host and the mail goes once', async () => {
  w = await startWorkflowHost({ clock, env, dataDir });
  (w.host.graphSim as GraphSimulator).setFaultRules([
    { method: 'POST', path: '/users/*/sendMail', status: 500 },
  ]);
  clock.advance(90_000); // Monday 07:00:30: the timer starts the run, whose first send fails
  const deliveries = (w.deps.evidenceMail as EvidenceMailDeps).deliveries;
  await eventually(
    async () => ((await deliveries.get(KEY))?.failedSends === 1 ? true : undefined),
    30000,
    'the first send to fail',
  );
  await letTimersRun(w);
  await w.stop(); // the run waits on its retry timer; the simulator's fault goes with the host

  w = await startWorkflowHost({ clock, env, dataDir });
  clock.advance(3 * MINUTE); // past the retry's pause
  const id = evidenceMailInstanceId(KEY);
  const status = await eventually(
    async () => {
      const s = await w?.host.durable.getStatus(id);
      return s?.runtimeStatus === 'Completed' ? s : undefined;
    },
    30000,
    `${id} to complete after the restart`,
  );
  expect(status.output as EvidenceMailOutcome).toMatchObject({
    key: KEY,
    state: 'sent',
    carried: 'attached',
  });
  expect(keptMails(dataDir).map((m) => m.subject)).toEqual(['Attest evidence 2026-11-16 to 2026-11-23']);
  expect(await (w.deps.evidenceMail as EvidenceMailDeps).deliveries.get(KEY)).toMatchObject({
    state: 'sent',
    failedSends: 1,
  });
});
