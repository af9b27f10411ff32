import { BlobAnchorStore } from '../../../src/adapters/blobs/blob-anchor.store';
import { AuditLogStore } from '../../../src/adapters/tables/audit-log.store';
import { DIGEST_PARTITION, LATEST_DIGEST_ROW } from '../../../src/adapters/tables/audit-row-keys';
import { TableNames } from '../../../src/adapters/tables/table-names';
import { runDigest } from '../../../src/cli/digest.command';
import { parseAnchor, runVerify } from '../../../src/cli/verify.command';
import { loadConfig, type AttestConfig } from '../../../src/config/config';
import { approvalDecided, requestSubmitted, type AuditContext } from '../../../src/domain/audit/audit-events';
import { startTestStorage, type TestStorage } from '../../support/storage';
import { TestClock } from '../../support/test-clock';

let storage: TestStorage;
let config: AttestConfig;
let log: AuditLogStore;
const clock = new TestClock(new Date('2026-11-29T10:00:00Z'));

const ctx = (stream: string): AuditContext => ({
  stream,
  actor: { objectId: 'u-ada', upn: 'ada@contoso.test', channel: 'cli' },
  subject: 'app:payroll/role:reader',
  correlation: { requestId: stream },
});

beforeAll(async () => {
  // As if `npm start` ran on this data folder: the commands adopt its Azurite.
  storage = await startTestStorage('attest-digest-cli-');
  config = loadConfig({ ATTEST_AZURITE_TABLE_PORT: '0', ATTEST_AZURITE_BLOB_PORT: '0' }, 'local');
  log = AuditLogStore.on(
    storage.tables,
    clock,
    BlobAnchorStore.on(storage.tables.storage, config.evidence.container, clock),
  );
  await log.init();
  await log.append(
    requestSubmitted(ctx('request/7'), {
      justification: 'Quarter close',
      policy: { id: 'payroll', version: '3', hash: 'ab'.repeat(32) },
    }),
  );
  await log.append(
    approvalDecided(ctx('request/7'), { stage: 1, approver: 'm-1', channel: 'teams', decision: 'approved' }),
  );
}, 60000);
afterAll(async () => {
  await storage.stop();
});

/** Runs a command module with line collectors. */
async function run(
  command: (out: (l: string) => void, err: (l: string) => void) => Promise<number>,
): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await command(
    (l) => out.push(l),
    (l) => err.push(l),
  );
  return { code, out, err };
}

const digest = () => run((out, err) => runDigest({ dataDir: storage.dataDir, config }, out, err));
const verify = (anchor?: string) =>
  run((out, err) =>
    runVerify({ dataDir: storage.dataDir, config, ...(anchor !== undefined ? { anchor } : {}) }, out, err),
  );

let first: { seq: number; hash: string };

test('attest digest writes a digest now, anchors it, and prints its seq, root, hash and the anchor', async () => {
  const result = await digest();
  expect(result.err).toEqual([]);
  expect(result.code).toBe(0);
  const [headline, root, hash, anchor, where] = result.out;
  expect(headline).toMatch(/^digest 1: 1 streams, 2 events, at 20\d\d-/);
  expect(root).toMatch(/^root {3}[0-9a-f]{64}$/);
  expect(hash).toMatch(/^hash {3}[0-9a-f]{64}$/);
  first = { seq: 1, hash: hash.slice(7) };
  expect(anchor).toBe(`anchor 1:${first.hash}`);
  expect(where).toBe('anchored in container attest-evidence');
  const anchored = await BlobAnchorStore.on(storage.tables.storage, 'attest-evidence', clock).latestDigest();
  expect(anchored).toMatchObject({ seq: 1, hash: first.hash, root: root.slice(7) });
});

test('attest verify checks the chain against the blob anchors, and against an anchor given', async () => {
  await digest(); // digest 2
  const ok = await verify();
  expect(ok).toEqual({
    code: 0,
    out: ['verify: ok (1 streams, 2 events; digests checked against 2 anchors, newest 2)'],
    err: [],
  });
  expect((await verify(`1:${first.hash.toUpperCase()}`)).code).toBe(0);

  const altered = await verify(`1:${'0'.repeat(64)}`);
  expect(altered.code).toBe(1);
  expect(altered.out[0]).toMatch(
    /^verify: FAILED stream=\(digests\) seq=1 digest-altered: digest 1 in the tables has hash [0-9a-f]{64}, but the anchor given \(1:0{64}\) records 0{64}/,
  );
  const ahead = await verify(`9:${first.hash}`);
  expect(ahead.code).toBe(1);
  expect(ahead.out[0]).toContain(
    'seq=9 rewound: the digest chain ends at digest 2, but digest 9 is anchored',
  );
});

test.each([['nonsense'], ['1'], [`0:${'a'.repeat(64)}`], [`1:${'a'.repeat(63)}`], [`x:${'a'.repeat(64)}`]])(
  'attest verify --anchor %s is a usage error with an example, exit 2',
  async (value) => {
    const result = await verify(value);
    expect(result.code).toBe(2);
    expect(result.out).toEqual([]);
    expect(result.err[0]).toContain('--anchor must be <seq>:<hash>');
    expect(result.err[0]).toContain(`e.g. --anchor 42:${'3f'.repeat(32)}`);
  },
);

test('parseAnchor accepts what attest digest prints', () => {
  expect(parseAnchor(` 12:${'AB'.repeat(32)} `)).toEqual({ seq: 12, hash: 'ab'.repeat(32) });
});

test('the newest digest removed from the tables (pointer rewound) fails verify, naming it and its anchor', async () => {
  const digests = storage.tables.client(TableNames.auditDigests);
  const d2 = await digests.getEntity<{ headsKey: string }>(DIGEST_PARTITION, '0000000002');
  await digests.deleteEntity(DIGEST_PARTITION, '0000000002');
  await digests.deleteEntity(DIGEST_PARTITION, `h-0000000002-${d2.headsKey}-0001`);
  await digests.updateEntity(
    { partitionKey: DIGEST_PARTITION, rowKey: LATEST_DIGEST_ROW, seq: 1, hash: first.hash },
    'Replace',
  );
  const result = await verify();
  expect(result.code).toBe(1);
  expect(result.out).toEqual([
    expect.stringMatching(
      /^verify: FAILED stream=\(digests\) seq=2 rewound: the digest chain ends at digest 1, but digest 2 is anchored \(its anchor \(blob attest-evidence\/digests\/0000000002.json\), hash [0-9a-f]{64}\): digest 2 was removed from the tables\.$/,
    ),
  ]);

  // The next digest the tables would give seq 2 again: anchoring it is refused, and attest digest says so.
  const again = await digest();
  expect(again.code).toBe(1);
  expect(again.err[0]).toMatch(
    /NOT anchored in container attest-evidence: digest 2: Digest 2 is already anchored/,
  );
});
