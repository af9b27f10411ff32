/**
 * Attest's one logger: JSON lines (`time`, `level`, `component`, `message`, and `requestId` / `campaignId` inside
 * a work context) on stdout (info) or stderr (warn, error). The local host, the background catalog check, the
 * notifiers and the ticket sync write through it unless a caller passes its own `log` (tests do, and read the
 * plain text). The local host's banner stays human: it is printed, not logged.
 *
 * In Azure the Functions host collects the worker's stdout and stderr into Application Insights traces, so the
 * same JSON is queryable there (`parse_json(message).requestId`).
 */
import { currentWork } from './work-context';

/** Severity of a line. */
export type LogLevel = 'info' | 'warn' | 'error';

/** One structured line, as written. */
export interface LogRecord {
  time: string;
  level: LogLevel;
  component: string;
  message: string;
  requestId?: string;
  campaignId?: string;
}

/** Where lines go (stdout/stderr by default; tests capture). */
export type LogSink = (json: string, level: LogLevel) => void;

const consoleSink: LogSink = (json, level) => {
  if (level === 'info') process.stdout.write(`${json}\n`);
  else process.stderr.write(`${json}\n`);
};

let sink: LogSink = consoleSink;

/** Replaces the sink (tests); returns a function that restores the previous one. */
export function setLogSink(next: LogSink): () => void {
  const previous = sink;
  sink = next;
  return () => {
    sink = previous;
  };
}

/** The record for one line in the current work context. */
export function logRecord(level: LogLevel, component: string, message: string, now = new Date()): LogRecord {
  const work = currentWork();
  return {
    time: now.toISOString(),
    level,
    component,
    message,
    ...(work.requestId && { requestId: work.requestId }),
    ...(work.campaignId && { campaignId: work.campaignId }),
  };
}

/** Writes one line. */
export function writeLog(level: LogLevel, component: string, message: string): void {
  sink(JSON.stringify(logRecord(level, component, message)), level);
}

/** A `(line) => void` logger for one component, in the shape Attest's adapters take as `log`. */
export function logger(component: string, level: LogLevel = 'info'): (line: string) => void {
  return (line) => writeLog(level, component, line);
}
