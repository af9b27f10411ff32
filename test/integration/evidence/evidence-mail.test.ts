/**
 * The weekly evidence e-mail on the local host: the timer (Mondays 07:00 UTC) fires on a test clock, the
 * `evidence-mail` orchestration builds the week's bundle (Azurite tables and blobs), and Graph sendMail to the
 * simulator keeps the mail under the data folder's `mail/` (`.attest/mail` for `npm start`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { verifyBundle } from '../../../src/adapters/evidence/bundle-verifier';
import { sha256 } from '../../../src/adapters/crypto/sha256';
import { toHex } from '../../../src/domain/audit/canonical-json.codec';
import { DEMO_ATTEST_ADMINS_GROUP_ID } from '../../../src/local/graph-sim/demo-tenant';
import type { GraphSimulator } from '../../../src/local/graph-sim/graph-sim';
import type { TableNotifier } from '../../../src/adapters/tables/notification.store';
import { evidenceMailSend } from '../../../src/workflows/evidence-mail.activities';
import type { EvidenceMailOutcome } from '../../../src/workflows/evidence-mail.orchestration';
import { startEvidenceMail } from '../../../src/workflows/evidence-mail.orchestration';
import { evidenceMailInstanceId } from '../../../src/workflows/names';
import type { EvidenceMailDeps } from '../../../src/workflows/workflow-deps';
import { activeGrant, as, demo, DAY, letTimersRun, MINUTE } from '../../support/workflow-scenarios';
import { eventually } from '../../support/storage';
import { keptMails, mailedAnchor, unzipBundle } from '../../support/mailbox';
import { TestClock } from '../../support/test-clock';
import { startWorkflowHost, type WorkflowHost } from '../../support/workflow-host';

/** Friday 20 November 2026: the week that the mail of Monday 23 November 07:00 covers. */
const clock = new TestClock(new Date('2026-11-20T09:00:00Z'));
const ATTEMPTS = 3;

let w: WorkflowHost;
let sim: GraphSimulator;
let mail: EvidenceMailDeps;
const scratch: string[] = [];

beforeAll(async () => {
  w = await startWorkflowHost({
    clock,
    env: {
      ATTEST_EVIDENCE_MAIL_SCHEDULE: '0 0 7 * * 1',
      ATTEST_EVIDENCE_MAIL_ATTEMPTS: String(ATTEMPTS),
      ATTEST_EVIDENCE_MAIL_TO: 'security-team@contoso.example, CISO@contoso.example',
      // Only the evidence timer acts here: the reconcile and offboarding run once a year.
      ATTEST_RECONCILE_SCHEDULE: '0 0 0 1 1 *',
    },
  });
  sim = w.host.graphSim as GraphSimulator;
  mail = w.deps.evidenceMail as EvidenceMailDeps;
}, 60000);
afterAll(async () => {
  await w?.stop();
  for (const d of scratch) fs.rmSync(d, { recursive: true, force: true });
});

const mails = () => keptMails(w.dataDir);

/** Moves the clock to `at` and waits for the run of the period ending then; moves on by `stepMs` while it retries. */
async function runAt(at: string, stepMs = MINUTE): Promise<EvidenceMailOutcome> {
  const key = at.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const id = evidenceMailInstanceId(key);
  clock.advance(new Date(at).getTime() + 30_000 - clock.now().getTime());
  for (let step = 0; step < 40; step++) {
    await letTimersRun(w);
    const s = await w.host.durable.getStatus(id);
    if (s && ['Completed', 'Failed', 'Terminated'].includes(s.runtimeStatus)) {
      expect(s.runtimeStatus).toBe('Completed');
      return s.output as EvidenceMailOutcome;
    }
    if (s) clock.advance(stepMs); // a retry's pause: let the durable timer fire
  }
  throw new Error(`${id} did not finish`);
}

/** The summary figure the mail body shows under `label`. */
function figure(html: string, label: string): number {
  const m = new RegExp(`<tr><td>${label}</td><td style="text-align:right">(\\d+)</td></tr>`).exec(html);
  if (!m) throw new Error(`no figure '${label}' in the mail`);
  return Number(m[1]);
}

/** Events of the whole log with `action` whose time is in [from, to). */
async function countInLog(action: string, from: string, to: string): Promise<number> {
  let n = 0;
  for await (const stream of w.deps.audit.streams()) {
    for (const e of await w.events(stream)) if (e.action === action && e.time >= from && e.time < to) n++;
  }
  return n;
}

const WEEK1 = { from: '2026-11-16T07:00:00.000Z', to: '2026-11-23T07:00:00.000Z' };

describe('the weekly evidence e-mail', () => {
  test('Monday 07:00: the mail lands with the zipped bundle, which verifies against the mailed anchor, and its figures match the log', async () => {
    const priya = demo('priya.raman');
    for (const alias of ['alex.chen', 'noah.williams']) {
      await activeGrant(
        w,
        {
          actor: as(demo(alias)),
          appId: 'jira',
          roleId: 'project-admin',
          durationMs: 7 * DAY,
          justification: 'Set up the platform team project',
        },
        [priya],
      );
    }

    const run = await runAt(WEEK1.to);

    expect(run).toMatchObject({ key: '20261123T070000Z', state: 'sent', carried: 'attached' });
    const [sent, ...more] = mails();
    expect(more).toHaveLength(0);
    expect(sent.subject).toBe('Attest evidence 2026-11-16 to 2026-11-23');
    expect(sent.from.emailAddress.address).toBe('attest@contoso.example');
    expect(sent.toRecipients).toEqual(['security-team@contoso.example', 'ciso@contoso.example']);
    const html = sent.body.content;
    expect(sent.attachments).toHaveLength(1);
    const zip = new Uint8Array(fs.readFileSync(path.join(sent.folder, sent.attachments[0].file)));
    expect(html).toContain(toHex(sha256(zip)));

    // The bundle verifies offline, against the anchor the mail carries, which is the one in the container.
    const anchor = mailedAnchor(html);
    const dir = unzipBundle(zip, scratch);
    const verified = await verifyBundle(dir, { anchor });
    expect(verified).toMatchObject({ ok: true, anchored: true });
    expect((await w.deps.anchors.latestDigest())?.hash).toBe(anchor.hash);

    // The figures in the body are the log's, counted here from the events themselves.
    expect(figure(html, 'Requests submitted')).toBe(
      await countInLog('request.submitted', WEEK1.from, WEEK1.to),
    );
    expect(figure(html, 'Requests submitted')).toBe(2);
    expect(figure(html, 'Access grants')).toBe(await countInLog('access.granted', WEEK1.from, WEEK1.to));
    expect(figure(html, 'Access grants')).toBe(2);
    const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')) as { grants: number };
    expect(summary.grants).toBe(2);
  });

  test('a second start for the same period, and a retried send after the mail went, send nothing', async () => {
    const before = mails().length;
    const again = await startEvidenceMail(w.host.durable, mail.deliveries, {
      period: WEEK1,
      attempts: ATTEMPTS,
    });
    expect(again).toEqual({ started: [], skipped: evidenceMailInstanceId('20261123T070000Z') });
    const retried = await evidenceMailSend(w.deps, { runId: 'retry', period: WEEK1 });
    expect(retried).toMatchObject({ state: 'sent', alreadySent: true });
    expect(mails()).toHaveLength(before);
    expect(await mail.deliveries.get('20261123T070000Z')).toMatchObject({
      state: 'sent',
      carried: 'attached',
      failedSends: 0,
      recipients: ['security-team@contoso.example', 'ciso@contoso.example'],
    });
  });

  test('sendMail failing every try: Attest admins are told, the mail stays owed, and the next Monday sends it', async () => {
    const before = mails().length;
    sim.setFaultRules([{ method: 'POST', path: '/users/*/sendMail', status: 500 }]);

    const run = await runAt('2026-11-30T07:00:00.000Z');

    expect(run).toMatchObject({ key: '20261130T070000Z', state: 'failed', failedAt: 'send' });
    expect(run.notified).toBeGreaterThan(0);
    expect(mails()).toHaveLength(before);
    const record = await mail.deliveries.get('20261130T070000Z');
    expect(record).toMatchObject({ state: 'failed', failedSends: ATTEMPTS });
    const admins = (await w.deps.directory.groupMembers(DEMO_ATTEST_ADMINS_GROUP_ID)).map((a) => a.id).sort();
    const notices = (await (w.deps.notifier as TableNotifier).forRequest('evidence-mail')).filter(
      (n) => n.kind === 'evidence-mail-failed',
    );
    expect(notices).toHaveLength(1);
    expect([...notices[0].recipients].sort()).toEqual(admins);
    expect(notices[0].text).toContain(
      '2026-11-23T07:00:00.000Z to 2026-11-30T07:00:00.000Z could not be sent (3 tries)',
    );
    expect(notices[0].text).toContain(record?.prepared?.zip.sha256);

    sim.clearFaultRules();
    await runAt('2026-12-07T07:00:00.000Z');
    await eventually(
      async () => {
        const owed = await w.host.durable.getStatus(evidenceMailInstanceId('20261130T070000Z'));
        return (owed?.output as EvidenceMailOutcome | undefined)?.state === 'sent' ? true : undefined;
      },
      30000,
      'the owed mail of 30 November to be sent',
    );
    expect(await mail.deliveries.get('20261130T070000Z')).toMatchObject({
      state: 'sent',
      failedSends: ATTEMPTS,
    });
    const sent = mails().slice(before);
    expect(sent.map((m) => m.subject).sort()).toEqual([
      'Attest evidence 2026-11-23 to 2026-11-30',
      'Attest evidence 2026-11-30 to 2026-12-07',
    ]);
  });

  test('sendMail failing once then answering: one mail, the failed try counted', async () => {
    const before = mails().length;
    // Graph refuses for the next 90 seconds of the simulator's (the test's) clock: the first try only.
    clock.advance(new Date('2026-12-14T07:00:00Z').getTime() - clock.now().getTime() - 5_000);
    sim.setFaultRules([{ method: 'POST', path: '/users/*/sendMail', status: 500, durationMs: 90_000 }]);

    const run = await runAt('2026-12-14T07:00:00.000Z', 2 * MINUTE);

    expect(run).toMatchObject({ state: 'sent' });
    const added = mails().slice(before);
    expect(added.map((m) => m.subject)).toEqual(['Attest evidence 2026-12-07 to 2026-12-14']);
    expect(await mail.deliveries.get('20261214T070000Z')).toMatchObject({ state: 'sent', failedSends: 1 });
  });
});
