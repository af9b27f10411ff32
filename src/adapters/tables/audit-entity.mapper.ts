/**
 * Audit events, heads and digests as Table Storage entities. Fields are stored as separate properties (an
 * operator can filter on action or requestId in Storage Explorer); `details` is its canonical JSON text, so
 * reading it back yields exactly the value that was hashed.
 */
import type { TableEntity } from '@azure/data-tables';
import type { AuditDigest } from '../../domain/audit/audit-digest.math';
import type { OutboxRow } from '../../ports/audit-log.port';
import type {
  AuditAction,
  AuditActor,
  AuditChannel,
  AuditCorrelation,
  AuditEvent,
  JsonObject,
  StreamHead,
} from '../../domain/audit/audit-event.model';
import { AuditErrorCodes } from '../../domain/audit/audit.errors';
import { canonicalJson } from '../../domain/audit/canonical-json.codec';
import { DomainError } from '../../domain/domain-error';
import { eventRowKey, HEAD_ROW } from './audit-row-keys';

/** Table Storage allows 64 KiB per string property, i.e. 32K UTF-16 characters. */
export const MAX_PROPERTY_CHARS = 32 * 1024;

/** The property bag of an event row. */
export type EventEntity = {
  stream: string;
  seq: number;
  time: string;
  actorObjectId: string;
  actorUpn?: string;
  actorChannel: string;
  action: string;
  subject: string;
  details: string;
  requestId?: string;
  instanceId?: string;
  ticketKey?: string;
  prevHash: string;
  hash: string;
};

function checkSize(field: string, text: string | undefined): void {
  if (text !== undefined && text.length > MAX_PROPERTY_CHARS) {
    throw new DomainError(
      AuditErrorCodes.tooLarge,
      `Audit ${field} is ${text.length} characters; one Table Storage property holds at most ${MAX_PROPERTY_CHARS}. ` +
        'Store large content elsewhere and record its id or hash in the event.',
      { field, length: text.length },
    );
  }
}

/** The canonical text of an event's details, refused when it would not fit one property. */
export function detailsText(details: JsonObject): string {
  const text = canonicalJson(details);
  checkSize('details', text);
  return text;
}

/** The row of an event; throws `AUDIT.TOO_LARGE` for fields Table Storage cannot hold. */
export function eventEntity(partitionKey: string, e: AuditEvent): TableEntity<EventEntity> {
  const entity: TableEntity<EventEntity> = {
    partitionKey,
    rowKey: eventRowKey(e.seq),
    stream: e.stream,
    seq: e.seq,
    time: e.time,
    actorObjectId: e.actor.objectId,
    actorChannel: e.actor.channel,
    action: e.action,
    subject: e.subject,
    details: detailsText(e.details),
    prevHash: e.prevHash,
    hash: e.hash,
  };
  if (e.actor.upn !== undefined) entity.actorUpn = e.actor.upn;
  if (e.correlation.requestId !== undefined) entity.requestId = e.correlation.requestId;
  if (e.correlation.instanceId !== undefined) entity.instanceId = e.correlation.instanceId;
  if (e.correlation.ticketKey !== undefined) entity.ticketKey = e.correlation.ticketKey;
  for (const field of [
    'stream',
    'subject',
    'actorObjectId',
    'actorUpn',
    'requestId',
    'instanceId',
    'ticketKey',
  ] as const) {
    checkSize(field, entity[field]);
  }
  return entity;
}

function str(row: Record<string, unknown>, key: string): string {
  const v = row[key];
  if (typeof v !== 'string') throw new Error(`property ${key} is not a string`);
  return v;
}

function optStr(row: Record<string, unknown>, key: string): string | undefined {
  const v = row[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new Error(`property ${key} is not a string`);
  return v;
}

/** The event a row holds. Throws a plain Error naming the property when the row is malformed. */
export function eventOfEntity(row: Record<string, unknown>): AuditEvent {
  const details = JSON.parse(str(row, 'details')) as unknown;
  if (typeof details !== 'object' || details === null || Array.isArray(details)) {
    throw new Error('property details is not a JSON object');
  }
  const seq = row.seq;
  if (typeof seq !== 'number') throw new Error('property seq is not a number');
  const actor: AuditActor = {
    objectId: str(row, 'actorObjectId'),
    channel: str(row, 'actorChannel') as AuditChannel,
  };
  const upn = optStr(row, 'actorUpn');
  if (upn !== undefined) actor.upn = upn;
  const correlation: AuditCorrelation = {};
  const requestId = optStr(row, 'requestId');
  const instanceId = optStr(row, 'instanceId');
  const ticketKey = optStr(row, 'ticketKey');
  if (requestId !== undefined) correlation.requestId = requestId;
  if (instanceId !== undefined) correlation.instanceId = instanceId;
  if (ticketKey !== undefined) correlation.ticketKey = ticketKey;
  return {
    stream: str(row, 'stream'),
    seq,
    time: str(row, 'time'),
    actor,
    action: str(row, 'action') as AuditAction,
    subject: str(row, 'subject'),
    details: details as JsonObject,
    correlation,
    prevHash: str(row, 'prevHash'),
    hash: str(row, 'hash'),
  };
}

/** The properties of a head hint row. */
export type HeadEntity = { stream: string; seq: number; hash: string };

/** The head hint row of a stream recording `head` (a hint only: readers read forward from it). */
export function headEntity(partitionKey: string, head: StreamHead): TableEntity<HeadEntity> {
  return { partitionKey, rowKey: HEAD_ROW, stream: head.stream, seq: head.seq, hash: head.hash };
}

/** The head a head hint row (or an event row read with stream, seq and hash) records. */
export function headOfEntity(row: Record<string, unknown>): StreamHead {
  const seq = row.seq;
  if (typeof seq !== 'number') throw new Error('property seq is not a number');
  return { stream: str(row, 'stream'), seq, hash: str(row, 'hash') };
}

/** The columns an event row is read with (`select`), so no other row's payload crosses the wire. */
export const EVENT_COLUMNS: readonly string[] = [
  'partitionKey',
  'rowKey',
  'stream',
  'seq',
  'time',
  'actorObjectId',
  'actorUpn',
  'actorChannel',
  'action',
  'subject',
  'details',
  'requestId',
  'instanceId',
  'ticketKey',
  'prevHash',
  'hash',
];

/** The columns a head is read with: an event row's or a hint row's stream, seq and hash. */
export const HEAD_COLUMNS: readonly string[] = ['partitionKey', 'rowKey', 'stream', 'seq', 'hash'];

/** The properties of a digest summary row (heads live in chunk rows). */
export type DigestEntity = {
  seq: number;
  time: string;
  root: string;
  streams: number;
  events: number;
  prevDigestHash: string;
  hash: string;
  /** The writer's nonce, naming its heads chunk rows. */
  headsKey: string;
  /** How many chunk rows hold the heads. */
  headsRows: number;
};

/** Splits heads into JSON texts of `[stream, seq, hash]` tuples, each small enough for one property. */
export function headsChunks(heads: readonly StreamHead[], maxChars = 30000): string[] {
  const chunks: string[] = [];
  let items: string[] = [];
  let size = 2;
  for (const h of heads) {
    const item = JSON.stringify([h.stream, h.seq, h.hash]);
    if (items.length > 0 && size + item.length + 1 > maxChars) {
      chunks.push(`[${items.join(',')}]`);
      items = [];
      size = 2;
    }
    items.push(item);
    size += item.length + 1;
  }
  if (items.length > 0 || chunks.length === 0) chunks.push(`[${items.join(',')}]`);
  return chunks;
}

/** The heads one chunk row holds. */
export function headsOfChunk(text: string): StreamHead[] {
  const tuples = JSON.parse(text) as unknown;
  if (!Array.isArray(tuples)) throw new Error('a heads chunk is not an array');
  return tuples.map((t: unknown) => {
    if (
      !Array.isArray(t) ||
      typeof t[0] !== 'string' ||
      typeof t[1] !== 'number' ||
      typeof t[2] !== 'string'
    ) {
      throw new Error('a heads chunk holds a malformed head');
    }
    return { stream: t[0], seq: t[1], hash: t[2] };
  });
}

/** The digest a summary row and its heads make. */
export function digestOfEntity(row: Record<string, unknown>, heads: StreamHead[]): AuditDigest {
  const num = (k: string) => {
    const v = row[k];
    if (typeof v !== 'number') throw new Error(`property ${k} is not a number`);
    return v;
  };
  return {
    seq: num('seq'),
    time: str(row, 'time'),
    root: str(row, 'root'),
    streams: num('streams'),
    events: num('events'),
    heads,
    prevDigestHash: str(row, 'prevDigestHash'),
    hash: str(row, 'hash'),
  };
}

/** An outbox row read back; a row that does not hold what `append` wrote is an error naming it. */
export function outboxOfEntity(stream: string, row: Record<string, unknown>): OutboxRow {
  const where = `outbox row ${String(row.partitionKey)}/${String(row.rowKey)}`;
  const { rowKey, eventSeq, eventHash, target, payload, createdAt } = row;
  if (
    typeof rowKey !== 'string' ||
    typeof eventSeq !== 'number' ||
    typeof eventHash !== 'string' ||
    (target !== 'jira' && target !== 'servicenow') ||
    typeof payload !== 'string' ||
    typeof createdAt !== 'string'
  ) {
    throw new Error(`${where} is malformed (eventSeq, eventHash, target, payload or createdAt).`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch (err) {
    throw new Error(`${where} has a payload that is not JSON: ${(err as Error).message}.`);
  }
  return { stream, rowKey, eventSeq, eventHash, target, payload: parsed, createdAt };
}
