import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sha256 } from '../../../src/adapters/crypto/sha256';
import { createTableFactory } from '../../../src/adapters/tables/table-client-factory';
import { TableNames } from '../../../src/adapters/tables/table-names';
import { AuditLogStore } from '../../../src/adapters/tables/audit-log.store';
import { accessGranted, requestSubmitted } from '../../../src/domain/audit/audit-events';
import { startAzurite, stopLeftoverAzurite } from '../../../src/local/azurite';
import { runToExit } from '../../support/host-process';

const CLI = path.resolve(__dirname, '..', '..', '..', 'dist', 'src', 'cli', 'main.js');
let dataDir: string;
let env: Record<string, string>;
let store: AuditLogStore;
let tables: ReturnType<typeof createTableFactory>;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-cli-'));
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
  tables = createTableFactory({ mode: 'embedded', tablePort: azurite.tablePort, blobPort: azurite.blobPort });
  store = new AuditLogStore({
    table: tables.client(TableNames.auditLog),
    digests: tables.client(TableNames.auditDigests),
    clock: { now: () => new Date('2026-11-22T10:00:00Z') },
    sha256,
  });
  await store.init();
  const ctx = {
    stream: 'req-cli-1',
    actor: {
      objectId: '2d56bd67-ca9e-5879-920f-5d115542cfc5',
      upn: 'alex.chen@contoso.example',
      channel: 'cli' as const,
    },
    subject: 'app:salesforce/role:admin',
    correlation: { requestId: 'req-cli-1' },
  };
  await store.append(
    requestSubmitted(ctx, {
      justification: 'Quarter close',
      policy: { id: 'contoso-demo', version: '1', hash: 'ab'.repeat(32) },
    }),
  );
  await store.append(
    accessGranted(
      { ...ctx, actor: { objectId: 'system', channel: 'system' } },
      {
        group: { id: '2593d53a-acaf-5378-8772-8f4e3aea20fe' },
        graph: { status: 204, alreadyMember: false },
        expiresAt: '2026-11-22T14:00:00.000Z',
      },
    ),
  );
  await store.writeDigest();
});
afterAll(async () => {
  await stopLeftoverAzurite(dataDir);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const attest = (...args: string[]) => runToExit(CLI, [...args, '--data', dataDir], env);

test('attest verify prints ok with the counts when the log is intact, and leaves an adopted Azurite running', async () => {
  const result = await attest('verify');
  expect(result.stdout.trim()).toBe(
    'verify: ok (1 streams, 2 events; no anchors: digests 1-1 are not anchored outside the tables)',
  );
  expect(result.code).toBe(0);
  expect(fs.existsSync(path.join(dataDir, 'azurite', 'azurite.json'))).toBe(true);
});

test('attest log prints a stream in order, readable by a person', async () => {
  const result = await attest('log', 'req-cli-1');
  expect(result.code).toBe(0);
  expect(result.stdout.trim().split('\n')).toEqual([
    expect.stringMatching(
      /^#1 2026-11-22T10:00:00.000Z request.submitted by alex.chen@contoso.example \(cli\) on app:salesforce\/role:admin /,
    ),
    expect.stringMatching(
      /^#2 2026-11-22T10:00:00.000Z access.granted by system \(system\) on app:salesforce\/role:admin /,
    ),
  ]);
  const unknown = await attest('log', 'no-such-stream');
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toContain('no events in stream no-such-stream');
});

test('attest verify exits 1 and names the stream, the seq and the problem when a row was edited', async () => {
  const table = tables.client(TableNames.auditLog);
  let edited = false;
  for await (const row of table.listEntities<{ details: string }>()) {
    if (!edited && typeof row.details === 'string' && row.details.includes('Quarter close')) {
      await table.updateEntity(
        {
          partitionKey: row.partitionKey as string,
          rowKey: row.rowKey as string,
          details: row.details.replace('Quarter close', 'Quarter-end'),
        },
        'Merge',
      );
      edited = true;
    }
  }
  expect(edited).toBe(true);
  const result = await attest('verify');
  expect(result.code).toBe(1);
  expect(result.stdout.trim()).toMatch(/^verify: FAILED stream=req-cli-1 seq=1 edited/);
});

test('bad usage exits 2 with the usage', async () => {
  const result = await runToExit(CLI, ['frobnicate'], env);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('attest: unknown command frobnicate');
  expect(result.stderr).toContain('Usage: attest <command> [--data DIR]');
});

test('attest <command> --help prints that command’s help on stdout and exits 0, touching no storage', async () => {
  const result = await runToExit(CLI, ['catalog', 'check', '--help'], env);
  expect(result.code).toBe(0);
  expect(result.stderr).toBe('');
  expect(result.stdout).toMatch(/^Usage: attest catalog check \[--file PATH\]\n/);
  expect(result.stdout).toContain('--data <dir>');
});

test('without a running host the CLI starts Azurite for the command and stops it afterwards', async () => {
  const other = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-cli-own-'));
  try {
    const ports = {
      ATTEST_AZURITE_TABLE_PORT: '0',
      ATTEST_AZURITE_BLOB_PORT: '0',
    };
    const result = await runToExit(CLI, ['verify', '--data', other], ports);
    expect(result.stdout.trim()).toBe('verify: ok (0 streams, 0 events; no digests yet)');
    expect(result.code).toBe(0);
    expect(fs.existsSync(path.join(other, 'azurite', 'azurite.json'))).toBe(false);
  } finally {
    await stopLeftoverAzurite(other);
    fs.rmSync(other, { recursive: true, force: true });
  }
});
