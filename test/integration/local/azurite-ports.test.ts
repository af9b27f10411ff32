import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startAzurite, stopLeftoverAzurite } from '../../../src/local/azurite';
import { answers, PortInUseError } from '../../../src/local/port-check';

let dataDir: string;
beforeAll(() => (dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-azurite-ports-'))));
afterAll(async () => {
  await stopLeftoverAzurite(dataDir);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/**
 * SIGKILL returns before the process is gone: until the kernel has torn it down, its pid still runs and its
 * port may still answer, and a start in that window rightly adopts it. Wait for the death the test stages.
 */
async function kill(pid: number): Promise<void> {
  process.kill(pid, 'SIGKILL');
  const gone = () => {
    try {
      // A zombie (killed, not yet reaped by this process) has an empty command line.
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8') === '';
    } catch {
      return true;
    }
  };
  const deadline = Date.now() + 10000;
  while (!gone()) {
    if (Date.now() > deadline) throw new Error(`pid ${pid} still runs 10 s after SIGKILL`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const record = () =>
  JSON.parse(fs.readFileSync(path.join(dataDir, 'azurite', 'azurite.json'), 'utf8')) as {
    table: { pid: number; port: number };
    blob: { pid: number; port: number };
  };

test('Azurite started on port 0 reports the ports it bound, records them, and binds them again after it died', async () => {
  const first = await startAzurite({ dataDir, tablePort: 0, blobPort: 0 });
  expect(first.tablePort).toBeGreaterThan(0);
  expect(first.blobPort).toBeGreaterThan(0);
  expect(await answers(first.tablePort)).toBe(true);
  expect(await answers(first.blobPort)).toBe(true);
  expect(record()).toMatchObject({ table: { port: first.tablePort }, blob: { port: first.blobPort } });

  // Asked again while it runs: adopted, wherever it is.
  const adopted = await startAzurite({ dataDir, tablePort: 0, blobPort: 0 });
  expect(adopted).toMatchObject({ adopted: true, tablePort: first.tablePort, blobPort: first.blobPort });

  // Both services die without a clean stop: the record remains, and the next start binds the same ports.
  const { table, blob } = record();
  await kill(table.pid);
  await kill(blob.pid);
  const again = await startAzurite({ dataDir, tablePort: 0, blobPort: 0 });
  expect(again).toMatchObject({ adopted: false, tablePort: first.tablePort, blobPort: first.blobPort });

  // Dead again, and something else took the table port meanwhile: a clear error naming the setting.
  await kill(record().table.pid);
  await kill(record().blob.pid);
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(first.tablePort, '127.0.0.1', r));
  try {
    const taken = startAzurite({ dataDir, tablePort: 0, blobPort: 0 });
    await expect(taken).rejects.toBeInstanceOf(PortInUseError);
    await expect(taken).rejects.toThrow(
      `Azurite table service: port ${first.tablePort} on 127.0.0.1, the one it had when this data folder last ran, is already in use. Stop whatever listens there, or set ATTEST_AZURITE_TABLE_PORT to another port.`,
    );
    // ...and again: the recorded ports are not given up on a failed start.
    await expect(startAzurite({ dataDir, tablePort: 0, blobPort: 0 })).rejects.toBeInstanceOf(PortInUseError);
  } finally {
    await new Promise((r) => blocker.close(r));
  }
  const back = await startAzurite({ dataDir, tablePort: 0, blobPort: 0 });
  expect(back).toMatchObject({ tablePort: first.tablePort, blobPort: first.blobPort });
}, 60000);
