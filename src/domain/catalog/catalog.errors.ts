/**
 * What can be wrong with a catalog, as stable codes and as sentences an admin can act on. The validator
 * finds problems by value path; the loader adds the file and line and raises one {@link DomainError}.
 */
import { DomainError } from '../domain-error';

/** Stable codes of catalog problems; tools and tests match on these, people read the message. */
export const CATALOG_PROBLEM = {
  SYNTAX: 'CATALOG.SYNTAX',
  UNKNOWN_KEY: 'CATALOG.UNKNOWN_KEY',
  MISSING_KEY: 'CATALOG.MISSING_KEY',
  WRONG_TYPE: 'CATALOG.WRONG_TYPE',
  INVALID_ID: 'CATALOG.INVALID_ID',
  DUPLICATE_KEY: 'CATALOG.DUPLICATE_KEY',
  DUPLICATE_APP: 'CATALOG.DUPLICATE_APP',
  DUPLICATE_ROLE: 'CATALOG.DUPLICATE_ROLE',
  MALFORMED_GUID: 'CATALOG.MALFORMED_GUID',
  UNKNOWN_GROUP: 'CATALOG.UNKNOWN_GROUP',
  SHARED_GROUP: 'CATALOG.SHARED_GROUP',
  MALFORMED_USER: 'CATALOG.MALFORMED_USER',
  UNKNOWN_USER: 'CATALOG.UNKNOWN_USER',
  BAD_DURATION: 'CATALOG.BAD_DURATION',
  DURATION_DEFAULT_EXCEEDS_MAX: 'CATALOG.DURATION_DEFAULT_EXCEEDS_MAX',
  PERMANENT_NOT_ALLOWED: 'CATALOG.PERMANENT_NOT_ALLOWED',
  NO_STAGES: 'CATALOG.NO_STAGES',
  UNKNOWN_APPROVERS: 'CATALOG.UNKNOWN_APPROVERS',
  UNSATISFIABLE_STAGE: 'CATALOG.UNSATISFIABLE_STAGE',
  MISSING_FALLBACK: 'CATALOG.MISSING_FALLBACK',
  MISSING_TIMEOUT: 'CATALOG.MISSING_TIMEOUT',
  BAD_QUORUM: 'CATALOG.BAD_QUORUM',
  UNKNOWN_CONFLICT: 'CATALOG.UNKNOWN_CONFLICT',
  SELF_CONFLICT: 'CATALOG.SELF_CONFLICT',
  BAD_PATTERN: 'CATALOG.BAD_PATTERN',
  EXAMPLE_DOES_NOT_MATCH: 'CATALOG.EXAMPLE_DOES_NOT_MATCH',
  EMPTY_AUTO_APPROVE: 'CATALOG.EMPTY_AUTO_APPROVE',
  AUTO_APPROVE_EXCEEDS_MAX: 'CATALOG.AUTO_APPROVE_EXCEEDS_MAX',
  /** A role's group is one whose membership Graph cannot change (dynamic, synced from on-premises, mail-enabled). */
  UNCHANGEABLE_GROUP: 'CATALOG.UNCHANGEABLE_GROUP',
  /** A role's group is role-assignable: Graph changes it only with RoleManagement.ReadWrite.Directory (a warning). */
  ROLE_ASSIGNABLE_GROUP: 'CATALOG.ROLE_ASSIGNABLE_GROUP',
  /** Two access reviews with the same id. */
  DUPLICATE_REVIEW: 'CATALOG.DUPLICATE_REVIEW',
  /** An access review's scope names nothing, or an app or role the catalog lacks. */
  BAD_REVIEW_SCOPE: 'CATALOG.BAD_REVIEW_SCOPE',
  /** An access review stage's reviewers are not one of the known forms. */
  UNKNOWN_REVIEWERS: 'CATALOG.UNKNOWN_REVIEWERS',
  /** An access review's schedule is not on-demand, monthly, quarterly or a 6-field NCRONTAB expression. */
  BAD_SCHEDULE: 'CATALOG.BAD_SCHEDULE',
  /** An access review's reminder would come before its stage opens. */
  BAD_REMINDER: 'CATALOG.BAD_REMINDER',
  /** A number outside what the setting allows (a share of 0 or above 1, days below 1). */
  OUT_OF_RANGE: 'CATALOG.OUT_OF_RANGE',
} as const;

/** One of {@link CATALOG_PROBLEM}'s values. */
export type CatalogProblemCode = (typeof CATALOG_PROBLEM)[keyof typeof CATALOG_PROBLEM];

/** A path to a value in the catalog document: map keys as strings, list positions as 0-based numbers. */
export type ValuePath = readonly (string | number)[];

/** One thing wrong with a catalog, before the loader knows which line it is on. */
export interface CatalogProblem {
  readonly code: CatalogProblemCode;
  /** The value the problem is about; the loader maps it to a line (or the nearest enclosing one). */
  readonly path: ValuePath;
  /** `<subject>: <what is wrong>. <fix>` — readable without the file open. */
  readonly message: string;
  /** The fix alone (a sentence, with its full stop), for tools that show it apart. */
  readonly fix: string;
}

/** A problem placed in a file, as it is reported. */
export interface LocatedCatalogProblem extends CatalogProblem {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
}

/** Builds a problem so that every message has the same `subject: problem. Fix.` shape. */
export function catalogProblem(
  code: CatalogProblemCode,
  path: ValuePath,
  subject: string,
  problem: string,
  fix: string,
): CatalogProblem {
  return { code, path, message: `${subject}: ${problem}. ${fix}`, fix };
}

/**
 * How a place in the document is named in messages: `approval stage 2 of role "y" of app "x"`,
 * `role "y" of app "x"`, `app "x"`, or `catalog`. Stages are counted from 1, as people count them.
 */
export function subjectOf(path: ValuePath): string {
  if (path[0] === 'reviews' && typeof path[1] === 'number') {
    const review = `access review ${path[1] + 1}`;
    if (path[2] === 'stages' && typeof path[3] === 'number') return `stage ${path[3] + 1} of ${review}`;
    return review;
  }
  if (path[0] === 'apps' && typeof path[1] === 'string') {
    if (path[2] === 'roles' && typeof path[3] === 'string') {
      const role = `role "${path[3]}" of app "${path[1]}"`;
      if (path[4] === 'approval' && path[5] === 'stages' && typeof path[6] === 'number') {
        return `approval stage ${path[6] + 1} of ${role}`;
      }
      return role;
    }
    return `app "${path[1]}"`;
  }
  return 'catalog';
}

/**
 * A key written twice in one mapping. The document reader finds these (a parsed object keeps only one), and
 * the domain words them: a repeated app or role id is the usual way two people's edits collide.
 */
export function duplicateKeyProblem(path: ValuePath, firstLine: number): CatalogProblem {
  const key = String(path[path.length - 1]);
  const parent = path.slice(0, -1);
  if (parent.length === 1 && parent[0] === 'apps') {
    return catalogProblem(
      CATALOG_PROBLEM.DUPLICATE_APP,
      path,
      'catalog',
      `app id "${key}" is defined twice (first at line ${firstLine})`,
      'Give each app a unique id, or merge the two definitions into one.',
    );
  }
  if (parent.length === 3 && parent[0] === 'apps' && parent[2] === 'roles') {
    return catalogProblem(
      CATALOG_PROBLEM.DUPLICATE_ROLE,
      path,
      `app "${String(parent[1])}"`,
      `role id "${key}" is defined twice (first at line ${firstLine})`,
      'Give each role of an app a unique id, or merge the two definitions into one.',
    );
  }
  return catalogProblem(
    CATALOG_PROBLEM.DUPLICATE_KEY,
    path,
    subjectOf(path),
    `key "${key}" is written twice in the same block (first at line ${firstLine}), so one value would be silently ignored`,
    'Keep one of them.',
  );
}

/**
 * The one error a catalog that fails to load raises: code `CATALOG.INVALID`, a message with a header and one
 * `file:line: message` per problem (sorted by line), and the structured list in `details.problems`.
 */
export function catalogInvalidError(file: string, problems: readonly LocatedCatalogProblem[]): DomainError {
  const sorted = [...problems].sort((a, b) => a.line - b.line || a.column - b.column);
  const n = sorted.length;
  const lines = sorted.map((p) => `${p.file}:${p.line}: ${p.message}`);
  return new DomainError(
    'CATALOG.INVALID',
    [`${file} is not a valid access catalog (${n} problem${n === 1 ? '' : 's'}):`, ...lines].join('\n'),
    { file, problems: sorted },
  );
}
