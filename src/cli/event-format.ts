/** How the CLI prints an audit event for a person. */
import type { AuditEvent } from '../ports/audit-log.port';

/** One event on one line: sequence, time, action, who, on what, and the details. */
export function formatEvent(e: AuditEvent): string {
  const who = e.actor.upn ?? e.actor.objectId;
  const details = Object.keys(e.details).length ? ` ${JSON.stringify(e.details)}` : '';
  return `#${e.seq} ${e.time} ${e.action} by ${who} (${e.actor.channel}) on ${e.subject}${details}`;
}
