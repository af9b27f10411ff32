/**
 * Running work outlives a change: instances the first version of the access-request orchestration started
 * (a grant waiting weeks for its expiry, a request waiting for approval) replay on today's code after a
 * restart, and finish correctly — including a standing member, whom the first version would have removed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stopLeftoverAzurite } from '../../../src/local/azurite';
import type { DurableClientPort } from '../../../src/ports/durable-client.port';
import type { AccessRequestInput } from '../../../src/workflows/access-request.types';
import { OrchestrationNames } from '../../../src/workflows/names';
import { accessRequestOrchestration as versionOne } from '../../fixtures/legacy/access-request.v1.orchestration';
import { TestClock } from '../../support/test-clock';
import { startWorkflowHost, type WorkflowHost } from '../../support/workflow-host';
import {
  DAY,
  HOUR,
  activeGrant,
  as,
  demo,
  letTimersRun,
  onlyEvent,
  storedWhen,
} from '../../support/workflow-scenarios';

const clock = new TestClock(new Date('2026-11-25T09:00:00Z'));
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-versioning-'));
let w: WorkflowHost | undefined;
afterAll(async () => {
  await w?.stop();
  await stopLeftoverAzurite(dataDir);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** Starts orchestrations with the input the first version was given: no `version`. */
const asVersionOne = (client: DurableClientPort): DurableClientPort =>
  Object.assign(Object.create(client) as DurableClientPort, {
    startNew: (name: string, opts: { instanceId?: string; input?: unknown }) => {
      const { version: _dropped, ...input } = opts.input as AccessRequestInput;
      return client.startNew(name, { ...opts, input });
    },
  });

const priya = demo('priya.raman');
const siobhan = demo('siobhan.obrien');
const alex = demo('alex.chen');
const mateo = demo('mateo.garcia');

test("instances started on version 1 finish on today's code after a restart: a grant expires, a standing member keeps their membership, a pending request is granted through the ledger", async () => {
  w = await startWorkflowHost({
    clock,
    dataDir,
    overrides: [{ kind: 'orchestration', name: OrchestrationNames.accessRequest, handler: versionOne }],
    durable: asVersionOne,
  });
  const analysts = (id: string) => w!.deps.directory.isMember('90a07bb0-22a6-555f-905e-b5705afe489c', id);
  const ask = (who: typeof siobhan, justification: string) => ({
    actor: as(who),
    appId: 'snowflake',
    roleId: 'analyst',
    durationMs: DAY,
    justification,
  });
  const granted = await activeGrant(w, ask(siobhan, 'Churn analysis for the board'), [priya]);
  await w.deps.directory.addMember('90a07bb0-22a6-555f-905e-b5705afe489c', alex.id); // a standing member
  const standing = await activeGrant(w, ask(alex, 'Check the funnel dashboard'), [priya]);
  const pending = await w.service.submit(ask(mateo, 'Look at the retention cohort'));
  await w.stageOpen(pending.requestId, 1);
  expect((await w.host.durable.getStatus(granted.requestId))?.input).not.toHaveProperty('version');
  await w.stop();

  // Today's code, on the same task hub and tables.
  w = await startWorkflowHost({ clock, dataDir });
  await w.service.decide({ actor: as(priya), requestId: pending.requestId, decision: 'approve' });
  await w.until(pending.requestId, 'access.granted');
  const claim = await w.deps.ledger.get('90a07bb0-22a6-555f-905e-b5705afe489c', mateo.id);
  expect(claim.entry.claims).toEqual([
    expect.objectContaining({ kind: 'grant', requestId: pending.requestId }),
  ]);

  for (let h = 0; h < 26; h++) {
    clock.advance(HOUR);
    await letTimersRun(w);
  }
  for (const id of [granted.requestId, standing.requestId, pending.requestId]) {
    await w.settled(id);
    expect((await w.host.durable.getStatus(id))?.runtimeStatus).toBe('Completed');
    await storedWhen(w, id, (r) => r.status === 'Revoked');
  }
  expect(await analysts(siobhan.id)).toBe(false);
  expect(await analysts(mateo.id)).toBe(false);
  expect(await analysts(alex.id)).toBe(true);
  expect((await onlyEvent(w, standing.requestId, 'access.revoked')).details).toMatchObject({
    membership: 'kept',
    keptBecause: "member before Attest's grant",
  });
  expect((await onlyEvent(w, granted.requestId, 'access.revoked')).details).toMatchObject({
    membership: 'removed',
    graph: { status: 204, wasMember: true },
  });
  expect((await w.deps.audit.verify()).ok).toBe(true);
}, 120000);
