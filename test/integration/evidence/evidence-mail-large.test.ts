/**
 * An evidence bundle too large to attach: it stays in the immutable container (Azurite's blob service here) and
 * the mail carries its name, SHA-256 and a time-limited link. NB. The link is a SAS that Azurite checks against
 * the wall clock, so this file's test clock runs a few hours behind real time (a daily schedule whose last
 * occurrence passed at least an hour ago), not on fixed dates.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { sha256 } from '../../../src/adapters/crypto/sha256';
import { verifyBundle } from '../../../src/adapters/evidence/bundle-verifier';
import { schedulePeriodAt } from '../../../src/config/config';
import { toHex } from '../../../src/domain/audit/canonical-json.codec';
import { attemptRefused } from '../../../src/domain/audit/audit-events';
import { evidencePeriodKey, INLINE_ATTACHMENT_LIMIT } from '../../../src/domain/evidence/evidence-mail';
import type { EvidenceMailOutcome } from '../../../src/workflows/evidence-mail.orchestration';
import { evidenceMailInstanceId } from '../../../src/workflows/names';
import type { EvidenceMailDeps } from '../../../src/workflows/workflow-deps';
import { keptMails, mailedAnchor, unzipBundle } from '../../support/mailbox';
import { eventually } from '../../support/storage';
import { TestClock } from '../../support/test-clock';
import { as, demo, HOUR } from '../../support/workflow-scenarios';
import { startWorkflowHost, type WorkflowHost } from '../../support/workflow-host';

const SCHEDULE = '0 0 7 * * *';
const period = schedulePeriodAt(SCHEDULE, new Date(Date.now() - HOUR));
const clock = new TestClock(new Date(new Date(period.to).getTime() - 2 * HOUR));

let w: WorkflowHost;
const scratch: string[] = [];

beforeAll(async () => {
  w = await startWorkflowHost({
    clock,
    env: { ATTEST_EVIDENCE_MAIL_SCHEDULE: SCHEDULE, ATTEST_RECONCILE_SCHEDULE: '0 0 0 1 1 *' },
  });
}, 60000);
afterAll(async () => {
  await w?.stop();
  for (const d of scratch) fs.rmSync(d, { recursive: true, force: true });
});

test('a bundle whose zip is over 3 MB in base64 stays in the container: the mail carries its name, SHA-256 and a link that downloads it', async () => {
  const mail = w.deps.evidenceMail as EvidenceMailDeps;
  // Refused attempts with long reasons of random (incompressible) text in the period: the zip grows past 2.25 MB.
  for (let i = 0; i < 90; i++) {
    await w.deps.audit.append(
      attemptRefused(
        { stream: `load-${i % 3}`, actor: as(demo('alex.chen')), subject: 'load' },
        { code: 'TEST.LOAD', reason: randomBytes(22_000).toString('base64') },
      ),
    );
  }

  clock.advance(2 * HOUR + 30_000);
  const id = evidenceMailInstanceId(evidencePeriodKey(period));
  const status = await eventually(
    async () => {
      const s = await w.host.durable.getStatus(id);
      return s && ['Completed', 'Failed', 'Terminated'].includes(s.runtimeStatus) ? s : undefined;
    },
    60000,
    `${id} to finish`,
  );

  expect(status.runtimeStatus).toBe('Completed');
  expect(status.output as EvidenceMailOutcome).toMatchObject({ state: 'sent', carried: 'linked' });
  const [sent, ...more] = keptMails(w.dataDir);
  expect(more).toHaveLength(0);
  expect(sent.attachments).toEqual([]);
  const html = sent.body.content;
  const zipFacts = (await mail.deliveries.get(evidencePeriodKey(period)))?.prepared?.zip as {
    name: string;
    sha256: string;
    bytes: number;
  };
  expect(Math.ceil(zipFacts.bytes / 3) * 4).toBeGreaterThan(INLINE_ATTACHMENT_LIMIT);
  expect(html).toContain('too large to attach');
  expect(html).toContain(`<code>${zipFacts.name}</code>`);
  expect(html).toContain(`<code id="zip-sha256">${zipFacts.sha256}</code>`);
  const link = /<a id="bundle-link" href="([^"]+)">/.exec(html)?.[1].replace(/&amp;/g, '&') as string;
  expect(link).toMatch(
    /^http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1\/attest-evidence\/bundles\/.+\.zip\?.*sig=/,
  );

  const download = await fetch(link);
  expect(download.status).toBe(200);
  const zip = new Uint8Array(await download.arrayBuffer());
  expect(toHex(sha256(zip))).toBe(zipFacts.sha256);
  expect(await verifyBundle(unzipBundle(zip, scratch), { anchor: mailedAnchor(html) })).toMatchObject({
    ok: true,
    anchored: true,
  });
  // Without its signature the link is refused: the container is not public.
  expect((await fetch(link.split('?')[0])).status).toBeGreaterThanOrEqual(400);
  expect(await mail.deliveries.owed()).toEqual([]);
});
