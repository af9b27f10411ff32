/**
 * What a failure may say outside the process: in the audit log (hashed, kept for years) and to the requester.
 * An error caught in an orchestration carries whatever Durable Functions wrapped around it — the Functions
 * host's "Result: Failure / Exception: / Stack:" text, the activity's stack frames with the app's absolute
 * paths, a serialised .NET exception — none of which a person can act on, and some of which describe our
 * deployment. {@link publicReason} keeps the one line that says what went wrong.
 *
 * The shapes it reads (durable-functions 3, Durable extension 2/3, JavaScript worker):
 * - a TaskFailed event with Reason and Details: the orchestrator sees `new Error(`${Reason} \n ${Details}`)`,
 *   where Reason is `Activity function '<name>' failed: Result: Failure\nException: <message>\nStack: <stack>`
 *   (the extension's prefix around the host's RpcException) and Details the exception serialised as JSON;
 * - a TaskFailed event with FailureDetails: a TaskFailedError whose message is `<errorType>: <errorMessage>`,
 *   errorMessage possibly the host's "Result: Failure…" text again;
 * - any Error thrown in the orchestrator itself, whose message may hold a stack someone appended.
 */

/** At most this many characters come out. */
export const PUBLIC_REASON_MAX_CHARS = 500;

/** What is said when nothing in the error can be said. */
export const UNKNOWN_REASON = 'An unexpected error occurred.';

/** The Functions host's text for a failed invocation (Microsoft.Azure.WebJobs.Script's RpcException). */
const HOST_FAILURE = /(?:^|\n|:\s*)Result:\s*Failure\s*\r?\nException:\s*([\s\S]*?)(?:\r?\nStack:[\s\S]*)?$/;

/** How durable-functions joins a TaskFailed event's Reason and Details into one Error message. */
const LEGACY_SEPARATOR = ' \n ';

/** Wrappers in front of the message, removed as often as they appear. */
const WRAPPERS: readonly RegExp[] = [
  // The Durable extension around an activity (and a sub-orchestration) failure.
  /^(?:The )?(?:activity|orchestrator|sub-orchestrat\w+) function '[^']*' failed(?::\s*|\.\s*$|\s*$)/i,
  // The .NET isolated / Durable Task SDK form.
  /^(?:Activity )?task '[^']*' \(#\d+\) failed with an unhandled exception:\s*/i,
  /^Exception while executing function:\s*Functions\.[\w.-]+\s*/i,
  /^Result:\s*Failure\s*/i,
  /^Exception:\s*/i,
  // An error type in front of its message: `Error: `, `TypeError: `, `TaskFailedError: `,
  // `Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException: `.
  /^(?:[A-Za-z_]\w*\.)*(?:[A-Z]\w*)?(?:Error|Exception):\s*/,
];

/** A stack frame line, as V8 (`at fn (file:1:2)`) and .NET (`at Namespace.Type.Method() in C:\…`) write them. */
const STACK_FRAME = /^\s*at\s/;

/** Absolute paths: file URLs, Windows drive and UNC paths, POSIX paths of two segments or more. */
const PATHS: readonly RegExp[] = [
  /\bfile:\/\/[^\s'"()]+/gi,
  /\b[A-Za-z]:\\[^\s'"()]*/g,
  /\\\\[\w.$-]+\\[^\s'"()]*/g,
  // NB. Not after `:` or `/`, so the path of a URL (https://graph.microsoft.com/v1.0/…) stays.
  /(?<![\w.:/\\-])\/(?:[\w.@+~-]+\/)+[\w.@+~-]*(?::\d+)*/g,
];

/** The message of anything thrown. */
function messageOf(err: unknown): string {
  if (typeof err === 'string') return err;
  if (err instanceof Error) return err.message;
  if (err && typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string') {
    return (err as { message: string }).message;
  }
  return '';
}

/** Removes every wrapper at the start, until none is left. */
function unwrap(text: string): string {
  let s = text.trimStart();
  for (let changed = true; changed;) {
    changed = false;
    for (const w of WRAPPERS) {
      const next = s.replace(w, '');
      if (next !== s) {
        s = next.trimStart();
        changed = true;
      }
    }
  }
  return s;
}

/** The message inside the host's "Result: Failure" text, if the text is that. */
function hostMessage(text: string): string | undefined {
  return HOST_FAILURE.exec(text)?.[1];
}

/** The message of a serialised .NET exception (the TaskFailed event's Details), if `text` has one. */
function serialisedMessage(text: string): string | undefined {
  const start = text.indexOf('{');
  if (start < 0) return undefined;
  try {
    const json = JSON.parse(text.slice(start)) as { RemoteMessage?: unknown; Message?: unknown };
    const m = typeof json.RemoteMessage === 'string' ? json.RemoteMessage : json.Message;
    return typeof m === 'string' ? m : undefined;
  } catch {
    return undefined;
  }
}

/** The first line that is not a stack frame, with wrappers removed. */
function firstLine(text: string): string {
  for (const line of unwrap(text).split(/\r?\n/)) {
    if (STACK_FRAME.test(line)) continue;
    const s = unwrap(line).trim();
    if (s && s !== '.') return s;
  }
  return '';
}

/**
 * One line a person can read about `err`: the message without the Durable and Functions wrappers, stack
 * frames or absolute file paths, at most {@link PUBLIC_REASON_MAX_CHARS} characters. Never throws; a value
 * with nothing to say gives {@link UNKNOWN_REASON}.
 */
export function publicReason(err: unknown): string {
  const raw = messageOf(err);
  // durable-functions joins a TaskFailed event's Reason and Details with " \n ": the Details are for logs.
  const at = raw.indexOf(LEGACY_SEPARATOR);
  const reason = at < 0 ? raw : raw.slice(0, at);
  let line = firstLine(hostMessage(reason) ?? reason);
  if (!line && at >= 0) {
    // A Reason that said no more than "failed.": the message is in the serialised exception.
    const serialised = serialisedMessage(raw.slice(at + LEGACY_SEPARATOR.length));
    if (serialised) line = firstLine(hostMessage(serialised) ?? serialised);
  }
  for (const p of PATHS) line = line.replace(p, '[path]');
  line = line.replace(/\s+/g, ' ').trim();
  if (!line) return UNKNOWN_REASON;
  return line.length > PUBLIC_REASON_MAX_CHARS
    ? `${line.slice(0, PUBLIC_REASON_MAX_CHARS - 1).trimEnd()}…`
    : line;
}
