/**
 * The catalog's directory check: do the groups and people it names exist, and can Graph change the groups
 * behind its roles? It needs Microsoft Graph, so it never stands between a host and its first request: the
 * host starts on the catalog file alone and runs this in the background, retrying while Graph is unavailable,
 * and `attest catalog check` runs it on demand (the command to run when a catalog is published).
 */
import { locateCatalogProblems, parseCatalog } from '../adapters/catalog/catalog-file.loader';
import type { LocatedCatalogProblem } from '../domain/catalog/catalog.errors';
import { roleGroupProblems, type GroupKind } from '../domain/catalog/group-kind.rule';
import { DomainError } from '../domain/domain-error';
import type { Clock } from '../ports/clock.port';
import type { Directory } from '../ports/directory.port';

/** One finding of the check; `file` and `line` say where to fix it, when it is about a place in the file. */
export interface CatalogCheckProblem {
  severity: 'error' | 'warning';
  code: string;
  message: string;
  file?: string;
  line?: number;
}

/** What one run of the check found. `ok` when nothing is an error (warnings may remain). */
export interface CatalogCheckReport {
  ok: boolean;
  problems: CatalogCheckProblem[];
  groups: number;
  people: number;
}

/** The background check as `/healthz` shows it. */
export interface CatalogCheckStatus {
  state: 'pending' | 'ok' | 'failed';
  problems: CatalogCheckProblem[];
  /** When the check last finished (ISO 8601); absent while pending. */
  checkedAt?: string;
  /** Runs so far, including those Graph did not answer. */
  attempts: number;
  /** Why the check is still pending after an attempt (Graph unavailable or throttling). */
  waiting?: string;
}

/** `file:line: message`, the way the loader reports catalog problems. */
export function formatCheckProblem(p: CatalogCheckProblem): string {
  return p.file ? `${p.file}${p.line ? `:${p.line}` : ''}: ${p.message}` : p.message;
}

/** Graph did not answer (down, throttling, unreachable): the check should be tried again later. */
export function isTransient(err: unknown): boolean {
  if (err instanceof DomainError)
    return err.code === 'DIRECTORY.UNAVAILABLE' || err.code === 'DIRECTORY.THROTTLED';
  return true; // a network error that was not mapped: try again
}

/**
 * Checks the catalog `text` (already valid as a file) against the directory. Throws when Graph does not answer
 * ({@link isTransient}) or refuses Attest (e.g. DIRECTORY.FORBIDDEN); returns what it found otherwise.
 */
export async function checkCatalogAgainstDirectory(
  directory: Directory,
  text: string,
  file: string,
): Promise<CatalogCheckReport> {
  const { catalog } = parseCatalog(text, file);
  const roleGroups = new Set<string>();
  const otherGroups = new Set<string>();
  const people = new Set<string>();
  for (const app of catalog.apps) {
    for (const role of app.roles) {
      roleGroups.add(role.groupId);
      role.eligibility.groupIds.forEach((g) => otherGroups.add(g));
      if (role.autoApprove?.requesterInGroup) otherGroups.add(role.autoApprove.requesterInGroup);
      for (const stage of role.approval.stages) {
        people.add(stage.fallback);
        const a = stage.approvers;
        if (a.kind === 'group-owners' || a.kind === 'group-members') otherGroups.add(a.groupId);
        if (a.kind === 'people') a.people.forEach((p) => people.add(p));
      }
    }
  }
  for (const review of catalog.reviews ?? []) {
    people.add(review.signOff);
    review.scope.groupIds.forEach((g) => otherGroups.add(g));
    for (const stage of review.stages) {
      people.add(stage.fallback);
      if (stage.reviewers.kind === 'people') stage.reviewers.people.forEach((p) => people.add(p));
    }
  }

  const problems: CatalogCheckProblem[] = [];
  const missingGroups = new Set<string>();
  const kinds = new Map<string, GroupKind>();
  const exists = async (id: string): Promise<boolean> => (await directory.getGroup(id)) !== undefined;
  for (const id of roleGroups) {
    const group = await directory.getGroup(id);
    if (group) kinds.set(id, group);
    else missingGroups.add(id);
  }
  for (const id of otherGroups) if (!roleGroups.has(id) && !(await exists(id))) missingGroups.add(id);
  const missingPeople = new Set<string>();
  for (const p of people) if (!(await directory.getUser(p))) missingPeople.add(p.toLowerCase());

  if (missingGroups.size > 0 || missingPeople.size > 0) {
    // Validate again with what the directory knows: the validator names the file, the line and the fix.
    try {
      parseCatalog(text, file, {
        knownGroups: (id: string) => !missingGroups.has(id.toLowerCase()),
        knownUsers: (who: string) => !missingPeople.has(who.toLowerCase()),
      });
    } catch (err) {
      if (!(err instanceof DomainError && err.code === 'CATALOG.INVALID')) throw err;
      const located = (err.details?.problems ?? []) as LocatedCatalogProblem[];
      problems.push(...located.map((p) => ({ severity: 'error' as const, ...pick(p) })));
    }
  }
  const kindProblems = roleGroupProblems(catalog, (id) => kinds.get(id));
  problems.push(
    ...locateCatalogProblems(text, file, kindProblems).map((p) => ({ severity: p.severity, ...pick(p) })),
  );
  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return {
    ok: !problems.some((p) => p.severity === 'error'),
    problems,
    groups: roleGroups.size + [...otherGroups].filter((g) => !roleGroups.has(g)).length,
    people: people.size,
  };
}

function pick(p: LocatedCatalogProblem): Omit<CatalogCheckProblem, 'severity'> {
  return { code: p.code, message: p.message, file: p.file, line: p.line };
}

/**
 * Runs {@link checkCatalogAgainstDirectory} in the background once, retrying while Graph does not answer, and
 * keeps its status for `/healthz`. Every outcome is logged: a failed check is loud, not a line in a page.
 */
export class BackgroundCatalogCheck {
  private current: CatalogCheckStatus = { state: 'pending', problems: [], attempts: 0 };
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(
    private readonly opts: {
      clock: Clock;
      log: (line: string) => void;
      /** Wait before attempt n+1 (default: 1 s, doubling, at most 15 s). */
      retryDelayMs?: (attempt: number) => number;
    },
  ) {}

  /** The check as it stands. */
  status(): CatalogCheckStatus {
    return { ...this.current, problems: [...this.current.problems] };
  }

  /** Starts checking `text` (from `file`) against `directory`; returns at once. */
  start(directory: Directory, text: string, file: string): void {
    const attempt = async () => {
      if (this.stopped) return;
      this.current.attempts++;
      try {
        const report = await checkCatalogAgainstDirectory(directory, text, file);
        this.finish(report.ok ? 'ok' : 'failed', report.problems);
        const n = report.problems.length;
        this.opts.log(
          report.ok
            ? `catalog check: ok (${report.groups} groups, ${report.people} people exist${n ? `; ${n} warning${n === 1 ? '' : 's'}` : ''})`
            : `catalog check: FAILED, ${file} names groups or people Attest cannot use:`,
        );
        for (const p of report.problems) this.opts.log(`  ${formatCheckProblem(p)}`);
      } catch (err) {
        if (this.stopped) return;
        if (isTransient(err)) {
          const delay = (this.opts.retryDelayMs ?? defaultDelay)(this.current.attempts);
          this.current.waiting = (err as Error).message;
          this.opts.log(
            `catalog check: pending, Microsoft Graph did not answer (${(err as Error).message}); trying again in ${Math.round(delay / 1000)} s`,
          );
          this.timer = setTimeout(() => void attempt(), delay);
          this.timer.unref?.();
          return;
        }
        const code = err instanceof DomainError ? err.code : 'CATALOG.CHECK_FAILED';
        this.finish('failed', [{ severity: 'error', code, message: (err as Error).message }]);
        this.opts.log(`catalog check: FAILED (${code}): ${(err as Error).message}`);
      }
    };
    void attempt();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private finish(state: 'ok' | 'failed', problems: CatalogCheckProblem[]): void {
    this.current = {
      state,
      problems,
      checkedAt: this.opts.clock.now().toISOString(),
      attempts: this.current.attempts,
    };
  }
}

const defaultDelay = (attempt: number) => Math.min(15000, 1000 * 2 ** Math.max(0, attempt - 1));
