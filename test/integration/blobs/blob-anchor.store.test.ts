import { sha256 } from '../../../src/adapters/crypto/sha256';
import {
  BlobAnchorStore,
  digestAnchorBytes,
  digestBlobName,
} from '../../../src/adapters/blobs/blob-anchor.store';
import { blobUrlOf, createBlobAccess } from '../../../src/adapters/blobs/blob-client-factory';
import { buildDigest, type DigestSummary } from '../../../src/domain/audit/audit-digest.math';
import { startTestStorage, type TestStorage } from '../../support/storage';
import { TestClock } from '../../support/test-clock';

let storage: TestStorage;
let n = 0;

beforeAll(async () => {
  storage = await startTestStorage('attest-anchors-');
});
afterAll(async () => {
  await storage.stop();
});

function newStore(clock = new TestClock(new Date('2026-11-29T16:00:00Z'))): BlobAnchorStore {
  n++;
  return BlobAnchorStore.on(storage.tables.storage, `anchors-${n}`, clock);
}

/** A chain of real digests (their heads dropped: the anchor holds the summary). */
function chain(count: number): DigestSummary[] {
  const out: DigestSummary[] = [];
  let prev: DigestSummary | undefined;
  for (let i = 1; i <= count; i++) {
    const { heads: _heads, ...summary } = buildDigest(
      prev,
      [{ stream: `request/${i}`, seq: i, hash: 'ab'.repeat(32) }],
      `2026-11-29T15:${String(i).padStart(2, '0')}:00.000Z`,
      sha256,
    );
    out.push(summary);
    prev = summary;
  }
  return out;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

test('a digest is anchored once as canonical JSON; the same again is exists, another is a conflict', async () => {
  const store = newStore();
  const [d1] = chain(1);
  expect(await store.putDigest(d1)).toBe('written');
  expect(await store.putDigest({ ...d1 })).toBe('exists');
  await expect(store.putDigest({ ...d1, root: 'cd'.repeat(32) })).rejects.toMatchObject({
    code: 'AUDIT.ANCHOR_CONFLICT',
    message: expect.stringContaining('Digest 1 is already anchored (digests/0000000001.json)'),
  });

  const blob = createBlobAccess(storage.tables.storage)
    .service.getContainerClient(store.container)
    .getBlobClient('digests/0000000001.json');
  const bytes = await blob.downloadToBuffer();
  expect(bytes.equals(Buffer.from(digestAnchorBytes(d1)))).toBe(true);
  expect(JSON.parse(bytes.toString('utf8'))).toEqual(d1);
  expect((await blob.getProperties()).contentType).toBe('application/json');
});

test('digests come back in seq order and the latest is the highest seq', async () => {
  const store = newStore();
  expect(await store.latestDigest()).toBeUndefined(); // no container yet: no anchors
  expect(await collect(store.digests())).toEqual([]);
  const ds = chain(12);
  for (const d of [ds[9], ds[1], ds[11], ds[0]]) await store.putDigest(d);
  expect((await collect(store.digests())).map((d) => d.seq)).toEqual([1, 2, 10, 12]);
  expect(await store.latestDigest()).toEqual(ds[11]);
  expect(digestBlobName(12)).toBe('digests/0000000012.json');
});

test('an object in digests/ that is not an anchor Attest wrote is named as malformed', async () => {
  const store = newStore();
  await store.putDigest(chain(1)[0]);
  const container = createBlobAccess(storage.tables.storage).service.getContainerClient(store.container);
  const d2 = chain(2)[1];
  const loose = JSON.stringify({ ...d2, note: 'extra' });
  await container.getBlockBlobClient('digests/0000000002.json').upload(loose, loose.length);
  await expect(collect(store.digests())).rejects.toMatchObject({
    code: 'AUDIT.ANCHOR_MALFORMED',
    message: expect.stringContaining('digests/0000000002.json'),
  });
  const wrongPlace = JSON.stringify(d2);
  const other = newStore();
  await other.init();
  await createBlobAccess(storage.tables.storage)
    .service.getContainerClient(other.container)
    .getBlockBlobClient('digests/0000000003.json')
    .upload(wrongPlace, wrongPlace.length);
  await expect(other.latestDigest()).rejects.toThrow(
    /digests\/0000000003.json is malformed: it holds digest 2/,
  );
});

test('bundle files are write-once, and a read-only link fetches them until it expires', async () => {
  const clock = new TestClock(new Date());
  const store = newStore(clock);
  const bytes = new TextEncoder().encode('{"files":[]}\n');
  expect(await store.putBundleFile('2026-11-23_2026-11-29', 'manifest.json', bytes)).toBe('written');
  expect(await store.putBundleFile('2026-11-23_2026-11-29', 'manifest.json', bytes)).toBe('exists');
  await expect(
    store.putBundleFile('2026-11-23_2026-11-29', 'manifest.json', new TextEncoder().encode('{}')),
  ).rejects.toMatchObject({ code: 'AUDIT.ANCHOR_CONFLICT' });
  await store.putBundleFile('2026-11-23_2026-11-29', 'streams/request-42.jsonl', bytes);

  const url = await store.bundleFileUrl('2026-11-23_2026-11-29', 'manifest.json', 3600_000);
  expect(url).toContain('/bundles/2026-11-23_2026-11-29/manifest.json?');
  expect(url).toMatch(/[?&]sp=r(&|$)/);
  const got = await fetch(url);
  expect(got.status).toBe(200);
  expect(new Uint8Array(await got.arrayBuffer())).toEqual(bytes);
  // Read-only: the link cannot overwrite.
  const put = await fetch(url, { method: 'PUT', headers: { 'x-ms-blob-type': 'BlockBlob' }, body: 'x' });
  expect(put.status).toBe(403);

  // A link signed two hours ago for one hour has expired.
  clock.advance(-2 * 3600_000);
  const old = await store.bundleFileUrl('2026-11-23_2026-11-29', 'manifest.json', 3600_000);
  expect((await fetch(old)).status).toBe(403);
});

test('bundle ids, names and link lifetimes that could escape or outlive their bounds are refused', async () => {
  const store = newStore();
  const b = new Uint8Array([1]);
  for (const [id, name] of [
    ['../x', 'a.csv'],
    ['ok', '../digests/0000000001.json'],
    ['ok', '/abs'],
    ['ok', 'a//b'],
    ['', 'a.csv'],
    ['ok', 'a b.csv'],
  ]) {
    await expect(store.putBundleFile(id, name, b)).rejects.toMatchObject({ code: 'AUDIT.ANCHOR_INVALID' });
  }
  await expect(store.bundleFileUrl('ok', 'a.csv', 8 * 24 * 3600_000)).rejects.toMatchObject({
    code: 'AUDIT.ANCHOR_INVALID',
  });
  await expect(store.bundleFileUrl('ok', 'a.csv', 0)).rejects.toMatchObject({ code: 'AUDIT.ANCHOR_INVALID' });
});

test('with managed identity the blob endpoint is the setting, or the table endpoint’s account', () => {
  expect(blobUrlOf({ mode: 'managed-identity', tableUrl: 'https://attestprod.table.core.windows.net' })).toBe(
    'https://attestprod.blob.core.windows.net',
  );
  expect(
    blobUrlOf({ mode: 'managed-identity', tableUrl: 'https://attestgov.table.core.usgovcloudapi.net/' }),
  ).toBe('https://attestgov.blob.core.usgovcloudapi.net');
  expect(
    blobUrlOf({
      mode: 'managed-identity',
      tableUrl: 'https://x.table.core.windows.net',
      blobUrl: 'https://y.blob.core.windows.net',
    }),
  ).toBe('https://y.blob.core.windows.net');
  expect(() => blobUrlOf({ mode: 'managed-identity', tableUrl: 'https://tables.example.com' })).toThrow(
    /Set ATTEST_STORAGE_BLOB_URL/,
  );
});
