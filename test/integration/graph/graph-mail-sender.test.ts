/**
 * The evidence mail through Graph sendMail to the Graph simulator, which keeps each message under
 * `<data>/mail/` (`.attest/mail` on the local host): attachments, the allow-list, Graph's 4 MB request limit.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { GraphError } from '@microsoft/microsoft-graph-client';
import { createGraphClient } from '../../../src/adapters/graph/graph-client';
import { GraphMailSender } from '../../../src/adapters/graph/graph-mailer';
import { DomainError } from '../../../src/domain/domain-error';
import { startGraphSimulator, type GraphSimulator } from '../../../src/local/graph-sim/graph-sim';

let sim: GraphSimulator;
let dataDir: string;
let sender: GraphMailSender;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-mail-'));
  sim = await startGraphSimulator({ port: 0, dataDir });
  const token = sim.issueToken();
  const client = createGraphClient({
    baseUrl: sim.url,
    getToken: async () => token,
    retry: { maxRetries: 0 },
  });
  sender = new GraphMailSender(client, 'attest@contoso.example', ['contoso.example']);
});
afterAll(async () => {
  await sim?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const mailDir = () => path.join(dataDir, 'mail');
const folders = () => fs.readdirSync(mailDir()).sort();

test('the mail lands from the evidence mailbox to every recipient, with the zip as a file attachment', async () => {
  const before = folders().length;
  const zip = Buffer.from([0x50, 0x4b, 0x03, 0x04, 1, 2, 3, 255, 0]);
  await sender.send({
    to: ['security-team@contoso.example', 'ciso@contoso.example'],
    subject: 'Attest evidence 2026-11-16 to 2026-11-23',
    html: '<p>Summary</p>',
    attachments: [{ name: 'b.zip', contentType: 'application/zip', contentBytes: zip.toString('base64') }],
  });
  const added = folders().slice(before);
  expect(added).toHaveLength(1);
  const stored = JSON.parse(fs.readFileSync(path.join(mailDir(), added[0], 'message.json'), 'utf8')) as {
    from: { emailAddress: { address: string } };
    toRecipients: string[];
    subject: string;
    body: { contentType: string; content: string };
    attachments: { name: string; contentType: string; size: number; file: string }[];
  };
  expect(stored.from.emailAddress.address).toBe('attest@contoso.example');
  expect(stored.toRecipients).toEqual(['security-team@contoso.example', 'ciso@contoso.example']);
  expect(stored.body).toEqual({ contentType: 'HTML', content: '<p>Summary</p>' });
  expect(stored.attachments).toEqual([
    { name: 'b.zip', contentType: 'application/zip', size: zip.length, file: 'b.zip' },
  ]);
  expect(fs.readFileSync(path.join(mailDir(), added[0], 'b.zip'))).toEqual(zip);
});

test('a recipient outside the allowed domains is refused before anything reaches Graph', async () => {
  const before = folders().length;
  const sent = sender.send({
    to: ['security-team@contoso.example', 'leak@gmail.com'],
    subject: 's',
    html: 'h',
    attachments: [],
  });
  await expect(sent).rejects.toThrow(DomainError);
  await expect(sent).rejects.toMatchObject({ code: 'MAIL.RECIPIENT_NOT_ALLOWED' });
  await expect(sent).rejects.toThrow('leak@gmail.com');
  expect(folders()).toHaveLength(before);
});

test('a request over Graph’s 4 MB is 413 RequestEntityTooLarge and nothing is kept', async () => {
  const before = folders().length;
  const big = Buffer.alloc(3 * 1024 * 1024 + 1).toString('base64'); // a 3 MB file is 4 MB of base64
  const err = await sender
    .send({
      to: ['security-team@contoso.example'],
      subject: 's',
      html: 'h',
      attachments: [{ name: 'big.zip', contentType: 'application/zip', contentBytes: big }],
    })
    .then(
      () => undefined,
      (e: GraphError) => e,
    );
  expect(err?.statusCode).toBe(413);
  expect(err?.code).toBe('RequestEntityTooLarge');
  expect(folders()).toHaveLength(before);
});
