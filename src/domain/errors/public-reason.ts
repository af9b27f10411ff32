/**
 * What people may read of a failure. An error that crosses an activity boundary reaches the orchestration
 * with its stack folded into the message (Durable Functions' "Activity function 'x' failed: … at …" and
 * Node's "    at f (/home/site/wwwroot/dist/…)" lines); none of that belongs in a hash-chained audit event
 * or a message to a requester. Keeps the first meaningful line, drops frames, paths and wrappers, bounds it.
 */
const MAX = 300;
const FRAME = /^\s*at\s/;
const WRAPPER = /^(?:Activity function '[^']*' failed:\s*|Error:\s*|DomainError:\s*|DirectoryError:\s*)+/;
const PATH = /(?:file:\/\/)?(?:\/[\w.@-]+){2,}(?::\d+){0,2}|[A-Za-z]:\\[^\s)]+/g;

/** The first line of `err`'s message a person can act on, without stack frames, file paths or wrappers. */
export function publicReason(err: unknown): string {
  const raw =
    err instanceof Error
      ? err.message
      : typeof err === 'string'
        ? err
        : typeof (err as { message?: unknown })?.message === 'string'
          ? (err as { message: string }).message
          : String(err);
  const line =
    raw
      .split(/\r?\n/)
      .map((l) => l.trim())
      .find((l) => l !== '' && !FRAME.test(l)) ?? '';
  let text = line;
  // Durable wraps a message more than once ("Activity function 'a' failed: Error: b"): peel every layer.
  for (let prev = ''; prev !== text;) {
    prev = text;
    text = text.replace(WRAPPER, '');
  }
  // A message that is itself JSON (some serialised errors) says `message` inside.
  if (text.startsWith('{')) {
    try {
      const inner = (JSON.parse(text) as { message?: unknown }).message;
      if (typeof inner === 'string') return publicReason(inner);
    } catch {
      // not JSON after all
    }
  }
  text = text.replace(PATH, '[path]').trim();
  if (text === '') return 'an internal error (details are in the host log)';
  return text.length > MAX ? `${text.slice(0, MAX - 1)}…` : text;
}
