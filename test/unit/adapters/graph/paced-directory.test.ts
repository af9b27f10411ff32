import { pacedDirectory, WritePacer } from '../../../../src/adapters/graph/paced-directory';
import { DirectoryError, type Directory } from '../../../../src/ports/directory.port';

/** A pacer on a fake clock that advances only when the pacer sleeps. */
function fakeTime() {
  let now = 0;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
    sleeps,
    elapsed: () => now,
  };
}

test('after its burst the pacer hands out writes at the quota rate (times the share)', async () => {
  const t = fakeTime();
  const pacer = new WritePacer({ capacity: 100, perSeconds: 10, share: 1, now: t.now, sleep: t.sleep });
  for (let i = 0; i < 100; i++) await pacer.take();
  expect(t.elapsed()).toBe(0);
  for (let i = 0; i < 50; i++) await pacer.take();
  // 10 writes per second once the burst is spent: 50 more take 5 s.
  expect(t.elapsed()).toBeGreaterThanOrEqual(4900);
  expect(t.elapsed()).toBeLessThanOrEqual(5100);
});

test('a 429 that still comes back pauses every writer for its Retry-After, then the write is tried again', async () => {
  const t = fakeTime();
  const pacer = new WritePacer({ capacity: 10, perSeconds: 1, now: t.now, sleep: t.sleep });
  let calls = 0;
  const inner = {
    removeMember: async () => {
      calls++;
      if (calls === 1) {
        throw new DirectoryError('DIRECTORY.THROTTLED', 'slow down', {
          operation: 'removeMember',
          status: 429,
          retryAfterSeconds: 7,
        });
      }
      return { outcome: 'removed' as const };
    },
    getUser: async () => undefined,
  } as unknown as Directory;
  const directory = pacedDirectory(inner, pacer);
  await expect(directory.removeMember('g', 'u')).resolves.toEqual({ outcome: 'removed' });
  expect(calls).toBe(2);
  expect(t.elapsed()).toBeGreaterThanOrEqual(7000);
  expect(pacer.stats.throttled).toBe(1);
  // Reads pass straight through, unpaced.
  await expect(directory.getUser('x')).resolves.toBeUndefined();
});
