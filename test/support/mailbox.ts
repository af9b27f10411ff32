/** Test support: the mail the Graph simulator kept under `<data>/mail/`, and the evidence bundles it carries. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { unzipSync } from 'fflate';

/** One kept message (message.json) and its folder. */
export interface KeptMail {
  folder: string;
  subject: string;
  toRecipients: string[];
  from: { emailAddress: { address: string } };
  body: { content: string };
  attachments: { name: string; size: number; file: string }[];
}

/** Every mail the simulator kept in `dataDir`, oldest first. */
export function keptMails(dataDir: string): KeptMail[] {
  const dir = path.join(dataDir, 'mail');
  return fs
    .readdirSync(dir)
    .sort()
    .map((folder) => ({
      folder: path.join(dir, folder),
      ...(JSON.parse(fs.readFileSync(path.join(dir, folder, 'message.json'), 'utf8')) as Omit<
        KeptMail,
        'folder'
      >),
    }));
}

/** Unzips a mailed bundle zip into a new temporary folder (listed in `scratch`); returns the bundle folder in it. */
export function unzipBundle(bytes: Uint8Array, scratch: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-mailed-bundle-'));
  scratch.push(dir);
  for (const [name, data] of Object.entries(unzipSync(bytes))) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), data);
  }
  const [bundle] = fs.readdirSync(dir);
  return path.join(dir, bundle);
}

/** The anchor (`seq:hash`) an evidence mail's body carries. */
export function mailedAnchor(html: string): { seq: number; hash: string } {
  const m = /<code id="anchor">(\d+):([0-9a-f]{64})<\/code>/.exec(html);
  if (!m) throw new Error('no anchor in the mail');
  return { seq: Number(m[1]), hash: m[2] };
}
