import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { stopLeftoverAzurite } from '../../../src/local/azurite';
import { createTableFactory } from '../../../src/adapters/tables/table-client-factory';
import { TableNames } from '../../../src/adapters/tables/table-names';
import {
  ENTRY,
  ANY_PORTS,
  runToExit,
  startHostProcess,
  type HostPorts,
  type HostProcess,
} from '../../support/host-process';
import { eventually } from '../../support/storage';

let dataDir: string;
let effects: string;
let ports: HostPorts;
let host: HostProcess | undefined;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-restart-'));
  effects = path.join(dataDir, 'effects');
  ports = ANY_PORTS;
});
afterAll(async () => {
  host?.child.kill('SIGKILL');
  await stopLeftoverAzurite(dataDir);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const env = () => ({ ...ports, SELF_CHECK_DIR: effects });
const start = () => startHostProcess(ENTRY.sampleHost, ['--data', dataDir, '--no-playground'], env());

function executions(): string[] {
  const file = path.join(effects, 'executions.log');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n') : [];
}

async function post(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

test('a host SIGKILLed while an orchestration waits on its timer resumes it after a restart, and it completes exactly once', async () => {
  host = await start();
  const started = await post(`${host.url}/api/self-check`, { timerMs: 4000, eventTimeoutMs: 60000 });
  expect(started.status).toBe(202);
  const id = started.json.instanceId as string;

  // Wait until the durable timer is committed to the task hub, then kill the host without warning.
  const tables = createTableFactory({
    mode: 'embedded',
    tablePort: host.ports.azuriteTable as number,
    blobPort: host.ports.azuriteBlob as number,
  });
  const hub = tables.client(TableNames.localTaskHub('AttestHub'));
  await eventually(
    async () => {
      for await (const row of hub.listEntities<{ event: string }>({
        queryOptions: { filter: `PartitionKey eq '${id}'` },
      })) {
        if (row.event && JSON.parse(row.event).EventType === 10) return true;
      }
      return undefined;
    },
    20000,
    'the timer to be committed',
  );
  const before = host.ports;
  host.child.kill('SIGKILL');
  expect(await host.exited).toBeNull();
  expect(executions()).toEqual([`${id} started`]);

  host = await start();
  expect(host.ports).toEqual(before); // bound again from the record, not chosen anew
  const health = (await (await fetch(`${host.url}/healthz`)).json()) as {
    parts: { storage: { adopted: boolean }; orchestrations: { resumed: number } };
  };
  expect(health.parts.storage.adopted).toBe(true);
  expect(health.parts.orchestrations.resumed).toBe(1);

  await eventually(
    async () => (executions().includes(`${id} timer-fired`) ? true : undefined),
    20000,
    'the timer to fire',
  );
  const first = await post(`${host.url}/api/self-check/${id}/approval`, {
    eventId: 'approval-1',
    decision: 'approved',
  });
  const again = await post(`${host.url}/api/self-check/${id}/approval`, {
    eventId: 'approval-1',
    decision: 'approved',
  });
  expect(first.json).toEqual({ delivered: true, duplicate: false });
  expect(again.json).toEqual({ delivered: false, duplicate: true });

  const done = await eventually(
    async () => {
      const res = await fetch(`${host!.url}/api/self-check/${id}`);
      const status = (await res.json()) as { runtimeStatus: string; output: unknown };
      return status.runtimeStatus === 'Completed' ? status : undefined;
    },
    20000,
    'completion',
  );
  expect(done.output).toEqual({ decision: 'approved' });
  expect(executions()).toEqual([`${id} started`, `${id} timer-fired`, `${id} decided`]);
  for (const step of ['started', 'timer-fired', 'decided'])
    expect(fs.existsSync(path.join(effects, `${id}.${step}`))).toBe(true);

  const unknown = await post(`${host.url}/api/self-check/not-an-instance/approval`, {
    eventId: 'x',
    decision: 'approved',
  });
  expect(unknown.status).toBe(404);
  expect(unknown.json.code).toBe('INSTANCE.NOT_FOUND');

  host.child.kill('SIGTERM');
  expect(await host.exited).toBe(0);
  expect(fs.existsSync(path.join(dataDir, 'azurite', 'azurite.json'))).toBe(false);
  host = undefined;
});

test('a host stopped cleanly comes back on the ports it had, and says so when one of them is taken', async () => {
  host = await start();
  const had = host.ports;
  host.child.kill('SIGTERM');
  expect(await host.exited).toBe(0);
  host = await start();
  expect(host.ports).toEqual(had);
  host.child.kill('SIGTERM');
  expect(await host.exited).toBe(0);
  host = undefined;

  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(had.http, '127.0.0.1', r));
  try {
    const result = await runToExit(ENTRY.sampleHost, ['--data', dataDir, '--no-playground'], env());
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(
      `Attest HTTP server: port ${had.http} on 127.0.0.1, the one it had when this data folder last ran, is already in use. Stop whatever listens there, or set ATTEST_HTTP_PORT to another port.`,
    );
  } finally {
    await new Promise((r) => blocker.close(r));
  }
});
