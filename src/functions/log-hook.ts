/**
 * Azure: the Functions host collects `context.log` lines itself (Application Insights traces with the
 * invocation id). This log hook rewrites each line Attest's code writes (category `user`) into the same JSON
 * as the local host's lines, so a line written inside a work context carries its `requestId` / `campaignId`
 * there too. System lines (the host's own) are left alone.
 */
import type { LogHookContext, LogLevel as FunctionsLogLevel } from '@azure/functions';
import { logRecord, type LogLevel } from '../adapters/telemetry/logger';

function levelOf(level: FunctionsLogLevel): LogLevel {
  if (level === 'warning') return 'warn';
  if (level === 'error' || level === 'critical') return 'error';
  return 'info';
}

/** The handler registered with `app.hook.log` (index.ts). */
export function stampUserLog(
  context: Pick<LogHookContext, 'category' | 'level' | 'message' | 'invocationContext'>,
): void {
  if (context.category !== 'user') return;
  const component = context.invocationContext?.functionName ?? 'attest';
  context.message = JSON.stringify(logRecord(levelOf(context.level), component, context.message));
}
