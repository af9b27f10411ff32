import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { sha256 } from '../../../src/adapters/crypto/sha256';
import { createTableFactory } from '../../../src/adapters/tables/table-client-factory';
import { TableNames } from '../../../src/adapters/tables/table-names';
import { AuditLogStore } from '../../../src/adapters/tables/audit-log.store';
import { eventsInStreamOrder, runExport, type ExportOptions } from '../../../src/cli/export.command';
import type { AuditEvent, AuditEventInput } from '../../../src/domain/audit/audit-event.model';
import * as audit from '../../../src/domain/audit/audit-events';
import { LIFECYCLE_HEADER } from '../../../src/domain/evidence/lifecycle-row.model';
import { startAzurite, stopLeftoverAzurite } from '../../../src/local/azurite';
import { runToExit } from '../../support/host-process';

const CLI = path.resolve(__dirname, '..', '..', '..', 'dist', 'src', 'cli', 'main.js');
let dataDir: string;
let outDir: string;
let env: Record<string, string>;
let store: AuditLogStore;
let clockTime = '2026-11-22T10:00:00.000Z';

const ALEX = { objectId: 'u-alex', upn: 'alex.chen@contoso.example', channel: 'teams' as const };
const PRIYA = { objectId: 'u-priya', upn: 'priya@contoso.example', channel: 'teams' as const };
const OMAR = { objectId: 'u-omar', upn: 'omar@contoso.example', channel: 'tab' as const };
const SYSTEM = { objectId: 'system', channel: 'system' as const };
const POLICY = { id: 'crm-admin', version: '3', hash: 'ab'.repeat(32) };
const GROUP = { id: 'g-crm-admins', name: 'CRM admins' };
const HYPERLINK = '=HYPERLINK("http://x","y")';

function ctx(stream: string, actor: audit.AuditContext['actor']): audit.AuditContext {
  return { stream, actor, subject: 'app:crm/role:admin', correlation: { requestId: stream } };
}

async function at(time: string, input: AuditEventInput): Promise<AuditEvent> {
  clockTime = time;
  return store.append(input);
}

/** A request submitted at `time` with `justification` and nothing else yet. */
async function submitted(stream: string, time: string, justification: string, ticketReference?: string) {
  await at(
    time,
    audit.requestSubmitted(ctx(stream, ALEX), {
      justification,
      policy: POLICY,
      appId: 'crm',
      roleId: 'admin',
      groupId: GROUP.id,
      ticketReference,
      requester: { id: ALEX.objectId, upn: ALEX.upn },
    }),
  );
}

let lastOfGranted: AuditEvent;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-export-'));
  outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-export-out-'));
  env = {
    ATTEST_AZURITE_TABLE_PORT: '0',
    ATTEST_AZURITE_BLOB_PORT: '0',
  };
  // As if `npm start` were running on this data folder: the CLI (ports 0) adopts its Azurite, wherever it is.
  const azurite = await startAzurite({
    dataDir,
    tablePort: 0,
    blobPort: 0,
  });
  const tables = createTableFactory({
    mode: 'embedded',
    tablePort: azurite.tablePort,
    blobPort: azurite.blobPort,
  });
  store = new AuditLogStore({
    table: tables.client(TableNames.auditLog),
    digests: tables.client(TableNames.auditDigests),
    clock: { now: () => new Date(clockTime) },
    sha256,
  });
  await store.init();

  // req-1: two stage approvals, granted, extended, revoked. Its justification is a formula.
  await submitted('req-1', '2026-11-22T10:00:00.000Z', HYPERLINK, 'SEC-42');
  await at(
    '2026-11-22T10:00:01.000Z',
    audit.policyEvaluated(ctx('req-1', SYSTEM), { policy: POLICY, outcome: 'approval-required', stages: 2 }),
  );
  await at(
    '2026-11-22T10:05:00.000Z',
    audit.approvalDecided(ctx('req-1', PRIYA), {
      stage: 1,
      approver: PRIYA.objectId,
      channel: 'teams',
      decision: 'approved',
    }),
  );
  await at(
    '2026-11-22T10:09:00.000Z',
    audit.approvalDecided(ctx('req-1', OMAR), {
      stage: 2,
      approver: OMAR.objectId,
      channel: 'tab',
      decision: 'approved',
      comment: 'for the close, only',
    }),
  );
  await at(
    '2026-11-22T10:09:05.000Z',
    audit.accessGranted(ctx('req-1', SYSTEM), {
      group: GROUP,
      graph: { status: 204, alreadyMember: false },
      expiresAt: '2026-11-22T18:09:05.000Z',
    }),
  );
  await at(
    '2026-11-22T17:00:00.000Z',
    audit.extensionRequested(ctx('req-1', ALEX), {
      justification: 'Close runs late',
      currentExpiry: '2026-11-22T18:09:05.000Z',
      requestedExpiry: '2026-11-23T02:09:05.000Z',
    }),
  );
  await at(
    '2026-11-22T17:10:00.000Z',
    audit.extensionDecided(ctx('req-1', PRIYA), {
      approver: PRIYA.objectId,
      channel: 'teams',
      decision: 'approved',
      newExpiry: '2026-11-23T02:09:05.000Z',
    }),
  );
  lastOfGranted = await at(
    '2026-11-22T21:00:00.000Z',
    audit.accessRevoked(ctx('req-1', OMAR), {
      reason: 'revoked',
      by: OMAR.objectId,
      group: GROUP,
      graph: { status: 204, wasMember: true },
    }),
  );

  // req-2: denied at stage 1.
  await submitted('req-2', '2026-11-23T09:00:00.000Z', '+1+cmd|calc');
  await at(
    '2026-11-23T09:30:00.000Z',
    audit.approvalDecided(ctx('req-2', PRIYA), {
      stage: 1,
      approver: PRIYA.objectId,
      channel: 'teams',
      decision: 'denied',
      comment: 'Use the report',
    }),
  );

  // req-3..5: pending, each with another formula trigger; req-6 exactly at the December boundary.
  await submitted('req-3', '2026-11-24T08:00:00.000Z', '-2+3', '@SEC-43');
  await submitted('req-4', '2026-11-24T09:00:00.000Z', '\t=1+1');
  await submitted('req-5', '2026-11-24T10:00:00.000Z', '\r=1+1');
  await submitted('req-6', '2026-12-01T00:00:00.000Z', 'December');

  // A campaign stream: no request, no row.
  await at(
    '2026-11-22T12:00:00.000Z',
    audit.attemptRefused(
      { stream: 'campaign-q4', actor: SYSTEM, subject: 'campaign:q4' },
      { code: 'REVIEW.CLOSED', reason: 'the campaign is closed' },
    ),
  );
  await store.writeDigest();
});

afterAll(async () => {
  await stopLeftoverAzurite(dataDir);
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.rmSync(outDir, { recursive: true, force: true });
});

const attest = (...args: string[]) => runToExit(CLI, [...args, '--data', dataDir], env);

/** RFC 4180: quoted fields may hold commas, quotes (doubled) and line breaks; records end with CRLF. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else field += c;
  }
  if (field !== '' || record.length > 0)
    throw new Error(`CSV does not end with CRLF: ${JSON.stringify(text)}`);
  return records;
}

/** The CSV as one object per row, keyed by header. */
function csvRows(text: string): Array<Record<string, string>> {
  const [header, ...records] = parseCsv(text);
  expect(header).toEqual(LIFECYCLE_HEADER);
  return records.map((r) => Object.fromEntries(header.map((name, i) => [name, r[i]])));
}

test('attest export writes one CSV row per request in the window, with the named columns in order', async () => {
  const result = await attest('export', '--from', '2026-11-01', '--to', '2026-12-01');
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.stdout.split('\r\n')[0]).toBe(LIFECYCLE_HEADER.join(','));
  const rows = csvRows(result.stdout);
  expect(rows.map((r) => r.stream)).toEqual(['req-1', 'req-2', 'req-3', 'req-4', 'req-5']);
  expect(rows[0]).toEqual({
    stream: 'req-1',
    requester_upn: 'alex.chen@contoso.example',
    requester_id: 'u-alex',
    requested_at: '2026-11-22T10:00:00.000Z',
    app: 'crm',
    role: 'admin',
    group: 'g-crm-admins',
    policy_id: 'crm-admin',
    policy_version: '3',
    policy_hash: 'ab'.repeat(32),
    justification: `'${HYPERLINK}`,
    ticket_reference: 'SEC-42',
    approvals:
      '1:priya@contoso.example approve 2026-11-22T10:05:00.000Z; ' +
      '2:omar@contoso.example approve 2026-11-22T10:09:00.000Z "for the close, only"',
    outcome: 'revoked',
    granted_at: '2026-11-22T10:09:05.000Z',
    granted_how: 'graph 204',
    expires_at: '2026-11-23T02:09:05.000Z',
    revoked_at: '2026-11-22T21:00:00.000Z',
    revocation_reason: 'revoked',
    revoked_by: 'omar@contoso.example',
    head_seq: '8',
    head_hash: lastOfGranted.hash,
  });
  expect(rows[1]).toMatchObject({
    stream: 'req-2',
    outcome: 'denied',
    approvals: '1:priya@contoso.example deny 2026-11-23T09:30:00.000Z "Use the report"',
    granted_at: '',
    expires_at: '',
    revoked_at: '',
  });
});

test('a formula in any cell comes out neutralised with a leading quote: =, +, -, @, tab and CR', async () => {
  const result = await attest('export', '--from', '2026-11-01', '--to', '2026-12-01');
  // The raw text: the cell is quoted (it holds quotes) and starts with the neutralising quote.
  expect(result.stdout).toContain(`"'=HYPERLINK(""http://x"",""y"")"`);
  const byStream = Object.fromEntries(csvRows(result.stdout).map((r) => [r.stream, r]));
  expect(byStream['req-1'].justification).toBe(`'=HYPERLINK("http://x","y")`);
  expect(byStream['req-2'].justification).toBe(`'+1+cmd|calc`);
  expect(byStream['req-3'].justification).toBe(`'-2+3`);
  expect(byStream['req-3'].ticket_reference).toBe(`'@SEC-43`);
  expect(byStream['req-4'].justification).toBe(`'\t=1+1`);
  expect(byStream['req-5'].justification).toBe(`'\r=1+1`);
});

test('--format jsonl writes one JSON object per line with the same keys, values as recorded', async () => {
  const result = await attest('export', '--from=2026-11-01', '--to=2026-12-01', '--format', 'jsonl');
  expect(result.code).toBe(0);
  expect(result.stdout.endsWith('\n')).toBe(true);
  const lines = result.stdout.trimEnd().split('\n');
  expect(lines).toHaveLength(5);
  const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(Object.keys(records[0])).toEqual(LIFECYCLE_HEADER);
  expect(records[0]).toMatchObject({
    stream: 'req-1',
    justification: HYPERLINK,
    head_seq: 8,
    approvals: [
      { stage: 1, approver: 'priya@contoso.example', decision: 'approve', comment: null },
      { stage: 2, approver: 'omar@contoso.example', decision: 'approve', comment: 'for the close, only' },
    ],
  });
  expect(records[1]).toMatchObject({ stream: 'req-2', outcome: 'denied', granted_at: null });
});

test('--from is inclusive and --to exclusive, as dates (UTC) or ISO times with a zone', async () => {
  const streams = async (...args: string[]) => {
    const result = await attest('export', ...args);
    expect(result.code).toBe(0);
    return csvRows(result.stdout).map((r) => r.stream);
  };
  expect(await streams('--from', '2026-11-23', '--to', '2026-11-24')).toEqual(['req-2']);
  expect(await streams('--from', '2026-11-24T09:00Z', '--to', '2026-12-01T00:00:00.001Z')).toEqual([
    'req-4',
    'req-5',
    'req-6',
  ]);
  // 11:00+01:00 is 10:00 UTC: req-5 is at 10:00 UTC, so it is in a window starting there.
  expect(await streams('--from', '2026-11-24T11:00+01:00', '--to', '2026-12-01')).toEqual(['req-5']);
  expect(await streams('--from', '2025-01-01', '--to', '2025-02-01')).toEqual([]);
});

test.each([
  [['--from', '2026-11-01'], 'export needs --to'],
  [['--to', '2026-11-01'], 'export needs --from'],
  [['--from', '2026-13-01', '--to', '2026-12-01'], '--from 2026-13-01 is not a date in the calendar'],
  [['--from', 'last week', '--to', '2026-12-01'], '--from last week is not a date: use YYYY-MM-DD'],
  [['--from', '2026-11-01T10:00', '--to', '2026-12-01'], '--from 2026-11-01T10:00 has no time zone'],
  [['--from', '2026-12-01', '--to', '2026-11-01'], '--from 2026-12-01 must be before --to 2026-11-01'],
  [['--from', '2026-11-01', '--to', '2026-11-01'], '--from 2026-11-01 must be before --to 2026-11-01'],
  [['--from', '2026-11-01', '--to', '2026-12-01', '--format', 'xlsx'], '--format xlsx is not a format'],
  [['--from', '2026-11-01', '--to'], '--to needs a value'],
  [['--from', '2026-11-01', '--to', '2026-12-01', 'extra'], 'export takes options only'],
])('bad export arguments %j exit 2 with a clear message and the usage', async (args, message) => {
  const result = await runToExit(CLI, ['export', ...args], env);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain(`attest: ${message}`);
  expect(result.stderr).toContain('export --from <date> --to <date> [--format csv|jsonl] [--out FILE]');
  expect(result.stdout).toBe('');
});

test('export options on another command are a usage error', async () => {
  const result = await runToExit(CLI, ['verify', '--from', '2026-11-01'], env);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('--from is an option of export, evidence, not of verify');
});

test('--out writes the file whole, leaves no partial file, and prints nothing when stderr is not a terminal', async () => {
  const file = path.join(outDir, 'evidence.csv');
  const result = await attest('export', '--from', '2026-11-01', '--to', '2026-12-01', '--out', file);
  expect(result.code).toBe(0);
  expect(result.stdout).toBe('');
  expect(result.stderr).toBe('');
  expect(csvRows(fs.readFileSync(file, 'utf8')).map((r) => r.stream)).toEqual([
    'req-1',
    'req-2',
    'req-3',
    'req-4',
    'req-5',
  ]);
  expect(fs.readdirSync(outDir).filter((f) => f.endsWith('.partial'))).toEqual([]);
});

test('--out into a folder that does not exist fails with exit 1 and names the file', async () => {
  const file = path.join(outDir, 'no-such-folder', 'evidence.csv');
  const result = await attest('export', '--from', '2026-11-01', '--to', '2026-12-01', '--out', file);
  expect(result.code).toBe(1);
  expect(result.stderr).toContain(`attest: could not write ${file}`);
  expect(fs.existsSync(path.dirname(file))).toBe(false);
});

const NOVEMBER: ExportOptions = {
  from: '2026-11-01T00:00:00.000Z',
  to: '2026-12-01T00:00:00.000Z',
  format: 'csv',
};

test('an export that fails half way leaves the previous file as it was and no partial file', async () => {
  const file = path.join(outDir, 'kept.csv');
  fs.writeFileSync(file, 'the previous export\r\n');
  async function* failing(): AsyncIterable<AuditEvent> {
    let n = 0;
    for await (const e of eventsInStreamOrder(store)) {
      if (++n === 10) throw new Error('storage went away');
      yield e;
    }
  }
  await expect(
    runExport(
      failing(),
      { ...NOVEMBER, out: file },
      { stdout: new PassThrough(), stderr: { write: () => true } },
    ),
  ).rejects.toThrow('storage went away');
  expect(fs.readFileSync(file, 'utf8')).toBe('the previous export\r\n');
  expect(fs.existsSync(`${file}.partial`)).toBe(false);
});

test('writing to a file on a terminal shows rows, streams and rate on one line redrawn with \\r', async () => {
  const file = path.join(outDir, 'tty.jsonl');
  let written = '';
  let t = 0;
  const summary = await runExport(
    eventsInStreamOrder(store),
    { ...NOVEMBER, format: 'jsonl', out: file },
    {
      stdout: new PassThrough(),
      stderr: { isTTY: true, write: (s: string) => (written += s) },
      // Every reading of the clock is a second later, so every update is drawn.
      now: () => (t += 1000),
    },
  );
  expect(summary).toEqual({ rows: 5, streams: 7 });
  expect(fs.readFileSync(file, 'utf8').trimEnd().split('\n')).toHaveLength(5);
  const redraws = written.split('\r').filter(Boolean);
  expect(redraws.length).toBeGreaterThan(1);
  expect(redraws[redraws.length - 1]).toMatch(
    /^export: 5 rows written, 7 streams scanned, \d+ rows\/s\s*\n$/,
  );
  expect(written.slice(0, -1)).not.toContain('\n');
});

test('on a terminal but writing to stdout, no progress line mixes into the data', async () => {
  const stdout = new PassThrough();
  let data = '';
  stdout.on('data', (d) => (data += d));
  let written = '';
  await runExport(eventsInStreamOrder(store), NOVEMBER, {
    stdout,
    stderr: { isTTY: true, write: (s: string) => (written += s) },
  });
  expect(written).toBe('');
  expect(csvRows(data)).toHaveLength(5);
});
