import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { sha256 } from '../../../src/adapters/crypto/sha256';
import { AuditLogStore } from '../../../src/adapters/tables/audit-log.store';
import { TableNames } from '../../../src/adapters/tables/table-names';
import {
  NO_VERIFY_NOTE,
  eventsInStreamOrder,
  parseExportOptions,
  runExport,
} from '../../../src/cli/export.command';
import type { AuditEventInput } from '../../../src/domain/audit/audit-event.model';
import * as audit from '../../../src/domain/audit/audit-events';
import type { AuditLogPort } from '../../../src/ports/audit-log.port';
import { startTestStorage, type TestStorage } from '../../support/storage';

const ALEX = { objectId: 'u-alex', upn: 'alex@contoso.example', channel: 'teams' as const };
const PRIYA = { objectId: 'u-priya', upn: 'priya@contoso.example', channel: 'teams' as const };
const SYSTEM = { objectId: 'system', channel: 'system' as const };
const POLICY = { id: 'crm-admin', version: '3', hash: 'ab'.repeat(32) };
const GROUP = { id: 'g-crm', name: 'CRM admins' };

let storage: TestStorage;
let store: AuditLogStore;
let clockTime = '2026-11-02T09:00:00.000Z';
let outDir: string;

const ctx = (stream: string, actor: audit.AuditContext['actor']) => ({
  stream,
  actor,
  subject: 'app:crm/role:admin',
  correlation: { requestId: stream },
});

async function at(time: string, input: AuditEventInput) {
  clockTime = time;
  return store.append(input);
}

async function submitted(stream: string, time: string) {
  await at(
    time,
    audit.requestSubmitted(ctx(stream, ALEX), {
      justification: 'Quarter close',
      policy: POLICY,
      appId: 'crm',
      roleId: 'admin',
      groupId: GROUP.id,
      requester: { id: ALEX.objectId, upn: ALEX.upn },
    }),
  );
}

beforeAll(async () => {
  storage = await startTestStorage('attest-export-verify-');
  store = new AuditLogStore({
    table: storage.tables.client(TableNames.auditLog),
    digests: storage.tables.client(TableNames.auditDigests),
    clock: { now: () => new Date(clockTime) },
    sha256,
  });
  await store.init();
  outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-export-verify-out-'));

  // Approved, then adding the member failed for good: the request failed.
  await submitted('req-failed', '2026-11-02T09:00:00.000Z');
  await at(
    '2026-11-02T09:00:01.000Z',
    audit.policyEvaluated(ctx('req-failed', SYSTEM), {
      policy: POLICY,
      outcome: 'approval-required',
      stages: 1,
    }),
  );
  await at(
    '2026-11-02T09:05:00.000Z',
    audit.approvalDecided(ctx('req-failed', PRIYA), {
      stage: 1,
      approver: PRIYA.objectId,
      channel: 'teams',
      decision: 'approved',
    }),
  );
  await at(
    '2026-11-02T09:05:02.000Z',
    audit.accessGrantFailed(ctx('req-failed', SYSTEM), {
      group: GROUP,
      attempt: 1,
      code: 'GRAPH.FORBIDDEN',
      error: 'Insufficient privileges to complete the operation.',
      permanent: true,
    }),
  );
  await at(
    '2026-11-02T09:05:03.000Z',
    audit.attemptRefused(ctx('req-failed', SYSTEM), {
      code: 'REQUEST.PROVISIONING_FAILED',
      reason: 'Adding the member failed: Insufficient privileges to complete the operation.',
    }),
  );
  // Nobody could decide its stage (the manager chain was empty): it ended with no approver.
  await submitted('req-no-approver', '2026-11-03T09:00:00.000Z');
  await at(
    '2026-11-03T09:00:01.000Z',
    audit.policyEvaluated(ctx('req-no-approver', SYSTEM), {
      policy: POLICY,
      outcome: 'approval-required',
      stages: 1,
    }),
  );
  await at(
    '2026-11-03T09:00:02.000Z',
    audit.attemptRefused(ctx('req-no-approver', SYSTEM), {
      code: 'REQUEST.NO_APPROVER',
      reason: 'Stage 1 has no approver: alex has no manager in the directory.',
    }),
  );
  // Still waiting for its approver: the one pending row.
  await submitted('req-waiting', '2026-11-04T09:00:00.000Z');
});

afterAll(async () => {
  await storage?.stop();
  fs.rmSync(outDir, { recursive: true, force: true });
});

function io() {
  const stdout = new PassThrough();
  let text = '';
  stdout.on('data', (c) => (text += String(c)));
  const errors: string[] = [];
  return {
    io: { stdout, stderr: { isTTY: false, write: (t: string) => errors.push(t) } },
    text: () => text,
    errors,
  };
}

const options = (extra: Record<string, string | boolean> = {}) =>
  parseExportOptions({ '--from': '2026-11-01', '--to': '2026-12-01', '--format': 'jsonl', ...extra });

test('a request that failed provisioning or had no approver is exported as such, never as pending', async () => {
  const run = io();
  const summary = await runExport(eventsInStreamOrder(store), options(), run.io);
  expect(summary.rows).toBe(3);
  const rows = run
    .text()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { stream: string; outcome: string });
  expect(Object.fromEntries(rows.map((r) => [r.stream, r.outcome]))).toEqual({
    'req-failed': 'failed',
    'req-no-approver': 'no-approver',
    'req-waiting': 'pending',
  });
  // A verified export says nothing extra.
  expect(run.errors).toEqual([]);
});

test('--no-verify is parsed, and the export then says on stderr that nothing was checked', async () => {
  expect(options().verify).toBe(true);
  expect(options({ '--no-verify': true }).verify).toBe(false);
  const run = io();
  const opts = options({ '--no-verify': true });
  await runExport(eventsInStreamOrder(store, { verify: opts.verify }), opts, run.io);
  expect(run.errors).toEqual([`${NO_VERIFY_NOTE}\n`]);
  expect(run.text().trim().split('\n')).toHaveLength(3);
});

test('an event changed after the up-front check is still caught as its stream is exported', async () => {
  // A log whose verify() answers ok but whose rows say otherwise (a write between the check and the read).
  const racing = Object.create(store) as AuditLogPort;
  racing.verify = async () => ({ ok: true, streams: 3, events: 9 });
  racing.scanAll = async function* () {
    for await (const e of store.scanAll()) {
      yield e.stream === 'req-failed' && e.seq === 3 ? { ...e, details: { ...e.details, stage: 2 } } : e;
    }
  };
  const out = path.join(outDir, 'racing.jsonl');
  await expect(runExport(eventsInStreamOrder(racing), { ...options(), out }, io().io)).rejects.toMatchObject({
    code: 'EVIDENCE.LOG_UNVERIFIED',
    message: expect.stringMatching(/^verify: FAILED stream=req-failed seq=3 edited: /),
  });
  expect(fs.readdirSync(outDir)).toEqual([]);
});

test('an export of a tampered log is refused with the failure named, and leaves no file', async () => {
  const table = storage.tables.client(TableNames.auditLog);
  let edited = 0;
  for await (const row of table.listEntities<{ details: string }>()) {
    if (typeof row.details === 'string' && row.details.includes('alex has no manager')) {
      await table.updateEntity(
        {
          partitionKey: row.partitionKey as string,
          rowKey: row.rowKey as string,
          details: row.details.replace('alex has no manager', 'approved by phone'),
        },
        'Merge',
      );
      edited++;
    }
  }
  expect(edited).toBe(1);
  const out = path.join(outDir, 'tampered.csv');
  await expect(
    runExport(eventsInStreamOrder(store), { ...options(), format: 'csv', out }, io().io),
  ).rejects.toMatchObject({
    code: 'EVIDENCE.LOG_UNVERIFIED',
    message: expect.stringMatching(
      /^verify: FAILED stream=req-no-approver seq=3 edited: .*Nothing was exported/,
    ),
  });
  expect(fs.readdirSync(outDir)).toEqual([]);
  // --no-verify exports it anyway, and says so.
  const run = io();
  const opts = options({ '--no-verify': true });
  await runExport(eventsInStreamOrder(store, { verify: false }), opts, run.io);
  expect(run.errors).toEqual([`${NO_VERIFY_NOTE}\n`]);
  expect(run.text()).toContain('"stream":"req-no-approver"');
});
