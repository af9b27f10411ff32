/**
 * What both ticket adapters write and read back: the event-hash line a comment or work note ends with (so a
 * retry finds what is already posted), the label Jira finds a ticket by, Retry-After parsing, and the
 * DomainErrors of the ticket port.
 */
import { DomainError } from '../../domain/domain-error';
import { TicketErrorCodes, type TicketComment, type TicketDraft } from '../../ports/ticket-system.port';

/** The line every comment or work note ends with: `attest-event: <hash>`. */
export function eventHashLine(hash: string): string {
  return `attest-event: ${hash}`;
}

const HASH_LINE = /(?:^|\n)\s*attest-event:\s*([A-Za-z0-9+/=_-]{8,})\s*(?=\n|$)/g;

/** The event hashes named by `attest-event:` lines in a comment's text (normally one). */
export function hashesIn(text: string): string[] {
  return [...text.matchAll(HASH_LINE)].map((m) => m[1]);
}

/** The lines of a comment for one audit event: what, who, when, the text, then stream/seq and the hash line. */
export function commentLines(c: TicketComment): string[] {
  return [
    `${c.action} by ${c.actor} at ${c.time}`,
    ...(c.text.trim() === '' ? [] : c.text.split(/\r?\n/)),
    `attest-stream: ${c.stream} #${c.seq}`,
    eventHashLine(c.eventHash),
  ];
}

/** The description lines of a ticket: the draft's text, then every field as `name: value`. */
export function descriptionLines(d: TicketDraft): string[] {
  const fields = Object.entries(d.fields).map(([k, v]) => `${k}: ${v}`);
  return [
    ...d.description.split(/\r?\n/),
    ...(fields.length > 0 ? ['', ...fields] : []),
    '',
    `attest-id: ${d.correlationId}`,
  ];
}

/**
 * The Jira label of an Attest id: `attest-` and the id, with every character Jira labels or JQL strings make
 * awkward (anything but letters, digits, `.` and `-`) written as `_` and its hex code, so two ids never share a
 * label. NB. Labels may not contain spaces and are at most 255 characters.
 */
export function jiraLabelFor(correlationId: string): string {
  const safe = [...correlationId]
    .map((ch) =>
      /[A-Za-z0-9.-]/.test(ch)
        ? ch
        : `_${[...Buffer.from(ch, 'utf8')].map((b) => b.toString(16).padStart(2, '0')).join('')}`,
    )
    .join('');
  const label = `attest-${safe}`;
  if (label.length > 255)
    throw new DomainError(
      TicketErrorCodes.rejected,
      `The id ${correlationId.slice(0, 40)}... is too long for a Jira label (255 characters).`,
    );
  return label;
}

/**
 * Retry-After in milliseconds: seconds (0 allowed) or an HTTP date; undefined when absent or unreadable, so
 * the caller backs off on its own.
 */
export function retryAfterMs(header: string | undefined | null, now: Date): number | undefined {
  if (header === undefined || header === null || header.trim() === '') return undefined;
  const h = header.trim();
  if (/^\d+$/.test(h)) return Number(h) * 1000;
  const at = Date.parse(h);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

/** A throttled answer: wait `retryAfterMs` (undefined: the system did not say) and retry. */
export function throttled(
  message: string,
  retryAfter: number | undefined,
  extra: Record<string, unknown> = {},
): DomainError {
  return new DomainError(TicketErrorCodes.throttled, message, { retryAfterMs: retryAfter, ...extra });
}

/** Transient: 5xx, timeout, connection refused. */
export function unavailable(message: string, extra: Record<string, unknown> = {}): DomainError {
  return new DomainError(TicketErrorCodes.unavailable, message, extra);
}

/** Retrying will not help: configuration, permission, validation. */
export function rejected(message: string, extra: Record<string, unknown> = {}): DomainError {
  return new DomainError(TicketErrorCodes.rejected, message, extra);
}
