/**
 * `attest evidence-mail` without a serving host: the command runs the period's `evidence-mail` run in its own
 * process, and the mail lands under the data folder's `mail/` (`.attest/mail` by default).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { verifyBundle } from '../../../src/adapters/evidence/bundle-verifier';
import { runEvidenceMail } from '../../../src/cli/evidence-mail.command';
import { loadConfig } from '../../../src/config/config';
import { stopLeftoverAzurite } from '../../../src/local/azurite';
import { ANY_PORTS } from '../../support/host-process';
import { keptMails, mailedAnchor, unzipBundle } from '../../support/mailbox';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-cli-evidence-mail-'));
const scratch: string[] = [];
const config = loadConfig({ ...ANY_PORTS }, 'local');

afterAll(async () => {
  await stopLeftoverAzurite(dataDir);
  for (const d of [dataDir, ...scratch]) fs.rmSync(d, { recursive: true, force: true });
});

async function run(opts: { at?: string }): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runEvidenceMail(
    { ...opts, data: dataDir },
    (l) => out.push(l),
    (l) => err.push(l),
    config,
  );
  return { code, out, err };
}

test('it sends the evidence e-mail of the last period before --at, which lands in <data>/mail with a bundle that verifies; a second run sends nothing', async () => {
  const at = '2026-11-25T12:00:00Z';

  const first = await run({ at });

  expect(first.err).toEqual([]);
  expect(first.code).toBe(0);
  expect(first.out[0]).toBe(
    'period 2026-11-16T07:00:00.000Z to 2026-11-23T07:00:00.000Z (evidence-mail-20261123T070000Z)',
  );
  expect(first.out.at(-1)).toBe('sent: the bundle attached, to security-team@contoso.example');
  const [mail, ...more] = keptMails(dataDir);
  expect(more).toEqual([]);
  expect(mail.subject).toBe('Attest evidence 2026-11-16 to 2026-11-23');
  const zip = new Uint8Array(fs.readFileSync(path.join(mail.folder, mail.attachments[0].file)));
  expect(
    await verifyBundle(unzipBundle(zip, scratch), { anchor: mailedAnchor(mail.body.content) }),
  ).toMatchObject({
    ok: true,
  });

  const second = await run({ at });
  expect(second.code).toBe(0);
  expect(second.out.at(-1)).toBe('already sent: the bundle attached, to security-team@contoso.example');
  expect(keptMails(dataDir)).toHaveLength(1);
}, 120000);

test('a malformed --at is a usage error that says what a date looks like', async () => {
  const r = await run({ at: 'last monday' });
  expect(r.code).toBe(2);
  expect(r.err[0]).toContain('attest evidence-mail: --at last monday is not a date');
  expect(r.err[0]).toContain('evidence-mail [--at <date>]');
});
