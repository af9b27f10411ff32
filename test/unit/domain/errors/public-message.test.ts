/**
 * publicReason: one line a person may read, from whatever an orchestration caught. The Durable shapes are
 * produced by durable-functions' own replay engine (the one the local host drives), fed the TaskFailed events
 * the Durable extension and the local host write, so the test reads the messages the library really builds.
 */
import { InvocationContext } from '@azure/functions';
import type * as df from 'durable-functions';
import {
  PUBLIC_REASON_MAX_CHARS,
  UNKNOWN_REASON,
  publicReason,
} from '../../../../src/domain/errors/public-message';
import { EventType, replay, type HistoryEvent } from '../../../../src/local/replay-host/durable-internals';

const MESSAGE = 'Graph refused to add the member (403 Authorization_RequestDenied).';
/** A Node stack as the activity threw it in Azure, with the app's absolute paths. */
const STACK = [
  `Error: ${MESSAGE}`,
  '    at GraphDirectory.addMember (/home/site/wwwroot/dist/src/adapters/graph/graph-directory.js:120:11)',
  '    at async grantAccess (/home/site/wwwroot/dist/src/workflows/access-request.activities.js:88:5)',
].join('\n');
/** The Functions host's text for a failed invocation (RpcException): Result, Exception, Stack. */
const HOST_FAILURE = `Result: Failure\nException: ${MESSAGE}\nStack: ${STACK}`;

/** What an orchestrator that catches a failed `grantAccess` activity sees, for this TaskFailed event. */
async function caught(failed: Record<string, unknown>): Promise<{ raw: string; reason: string }> {
  const handler: df.OrchestrationHandler = function* (context) {
    try {
      yield context.df.callActivity('grantAccess', { groupId: 'g', userId: 'u' });
      return { raw: '', reason: 'the activity did not fail' };
    } catch (err) {
      return { raw: (err as Error).message, reason: publicReason(err) };
    }
  };
  const at = new Date('2026-11-29T10:00:00Z');
  const event = (type: number, id: number, fields: Record<string, unknown> = {}): HistoryEvent => ({
    EventType: type,
    EventId: id,
    IsPlayed: false,
    Timestamp: at,
    ...fields,
  });
  const history = [
    event(EventType.OrchestratorStarted, -1),
    event(EventType.ExecutionStarted, -1, {
      Name: 'access-request',
      Input: 'null',
      OrchestrationInstance: { InstanceId: 'req-1', ExecutionId: 'x-1' },
    }),
    event(EventType.TaskScheduled, 0, { Name: 'grantAccess', Input: '{}' }),
    event(EventType.OrchestratorCompleted, -1),
    event(EventType.OrchestratorStarted, -1),
    event(EventType.TaskFailed, -1, { TaskScheduledId: 0, ...failed }),
  ];
  const result = await replay(handler, new InvocationContext(), {
    instanceId: 'req-1',
    history,
    input: null,
  });
  return result.output as { raw: string; reason: string };
}

describe('a failed activity, as Durable Functions hands it to the orchestrator', () => {
  test('Reason and Details from the Durable extension: the activity’s message, nothing else', async () => {
    const { raw, reason } = await caught({
      Reason: `Activity function 'grantAccess' failed: ${HOST_FAILURE}`,
      Details: JSON.stringify({
        $type: 'Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException, Microsoft.Azure.WebJobs.Script',
        ClassName: 'Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException',
        Message: HOST_FAILURE,
        RemoteMessage: MESSAGE,
        RemoteStackTrace: STACK,
      }),
    });
    expect(raw).toContain("Activity function 'grantAccess' failed: Result: Failure");
    expect(raw).toContain('/home/site/wwwroot');
    expect(reason).toBe(MESSAGE);
  });

  test('a Reason that only says the activity failed: the message comes from the serialised exception', async () => {
    const { reason } = await caught({
      Reason: "Activity function 'grantAccess' failed.",
      Details: JSON.stringify({ ClassName: 'System.Exception', Message: HOST_FAILURE }),
    });
    expect(reason).toBe(MESSAGE);
  });

  test('a Reason that only says it failed, with Details that are not JSON, says nothing of them', async () => {
    const { reason } = await caught({
      Reason: "Activity function 'grantAccess' failed.",
      Details: STACK,
    });
    expect(reason).toBe(UNKNOWN_REASON);
  });

  test('FailureDetails (a TaskFailedError: "<type>: <message>", the stack kept apart)', async () => {
    const plain = await caught({
      FailureDetails: { ErrorType: 'Error', ErrorMessage: MESSAGE, StackTrace: STACK },
    });
    expect(plain.raw).toBe(`Error: ${MESSAGE}`);
    expect(plain.reason).toBe(MESSAGE);
    const hosted = await caught({
      FailureDetails: {
        ErrorType: 'Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException',
        ErrorMessage: HOST_FAILURE,
        StackTrace: STACK,
      },
    });
    expect(hosted.reason).toBe(MESSAGE);
  });

  test('the local replay host’s TaskFailed (Reason = message, Details = stack)', async () => {
    const { raw, reason } = await caught({ Reason: MESSAGE, Details: STACK });
    expect(raw).toContain('    at GraphDirectory.addMember');
    expect(reason).toBe(MESSAGE);
  });
});

describe('any other error', () => {
  test('keeps the first line, without stack frames or the error type', () => {
    const err = new TypeError('Cannot read properties of undefined (reading "id")');
    expect(publicReason(err)).toBe('Cannot read properties of undefined (reading "id")');
    expect(publicReason(new Error(`${MESSAGE}\n${STACK}`))).toBe(MESSAGE);
    expect(publicReason(new Error('\n    at x (/srv/app/a.js:1:1)\nLater words'))).toBe('Later words');
  });

  test('removes absolute paths (POSIX, Windows, UNC, file URLs) and keeps URLs of services', () => {
    expect(
      publicReason(
        new Error("ENOENT: no such file or directory, open '/home/site/wwwroot/catalog/catalog.yaml'"),
      ),
    ).toBe("ENOENT: no such file or directory, open '[path]'");
    expect(publicReason('Failed to load C:\\home\\site\\wwwroot\\dist\\index.js:12:3 at start')).toBe(
      'Failed to load [path] at start',
    );
    expect(publicReason('Share \\\\fileserver\\attest\\keys.pem is gone')).toBe('Share [path] is gone');
    expect(publicReason('Cannot import file:///home/site/wwwroot/dist/x.mjs')).toBe('Cannot import [path]');
    const url = 'POST https://graph.microsoft.com/v1.0/groups/abc/members/$ref answered 503 and/or 429';
    expect(publicReason(url)).toBe(url);
  });

  test('is bounded', () => {
    const reason = publicReason(new Error('x'.repeat(5000)));
    expect(reason.length).toBe(PUBLIC_REASON_MAX_CHARS);
    expect(reason.endsWith('…')).toBe(true);
  });

  test('says something for anything thrown', () => {
    expect(publicReason('plain words')).toBe('plain words');
    expect(publicReason({ message: 'from an object' })).toBe('from an object');
    expect(publicReason(undefined)).toBe(UNKNOWN_REASON);
    expect(publicReason(42)).toBe(UNKNOWN_REASON);
    expect(publicReason(new Error(''))).toBe(UNKNOWN_REASON);
    expect(publicReason(new Error('Error: '))).toBe(UNKNOWN_REASON);
  });
});
