/**
 * Every name the admin's docs (docs/*.md) and the README give a reader exists in the code: the ATTEST_* settings
 * (and the values they are shown with), the Graph permissions (against the one list the code declares), the
 * `attest` commands, the `npm run` scripts, the Bicep parameters and outputs. A doc that names something that
 * does not exist sends an admin looking for it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { GRAPH_APPLICATION_PERMISSIONS } from '../../src/adapters/graph/graph-permissions';
import { runCli } from '../../src/cli/main';
import { SETTINGS } from '../../src/config/config';

const root = path.resolve(__dirname, '..', '..');
const read = (relative: string): string => fs.readFileSync(path.join(root, relative), 'utf8');

/** Environment names that are not Attest's settings but that the docs rightly name. */
const OTHER_SETTINGS = [
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
  'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
  'AZURE_CLIENT_ID',
  'FUNCTIONS_WORKER_RUNTIME',
];

/**
 * Graph permissions the docs name as what Attest does NOT need (the larger alternative) or as belonging to
 * something else than the deployed app.
 */
const NAMED_AS_NOT_GRANTED = [
  'Group.ReadWrite.All',
  'Directory.Read.All',
  'Mail.ReadWrite',
  'RoleManagement.ReadWrite.Directory',
  'TeamsAppInstallation.ReadWriteForUser.All',
  // the read-only app registration an admin may use for `attest catalog check` (docs/deploy.md, step 2)
  'GroupMember.Read.All',
];

const docFiles = [
  ...fs
    .readdirSync(path.join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
  'README.md',
];
const docs = docFiles.map((file) => ({ file, text: read(file) }));
const adminDocs = docs.filter((d) =>
  ['docs/deploy.md', 'docs/permissions.md', 'docs/operations.md'].includes(d.file),
);

/** `file: name` for each distinct match of `pattern` (group 1) in each doc. */
function named(files: { file: string; text: string }[], pattern: RegExp): { file: string; name: string }[] {
  return files.flatMap(({ file, text }) =>
    [...new Set([...text.matchAll(pattern)].map((m) => m[1]))].map((name) => ({ file, name })),
  );
}

/** Inline code spans and fenced blocks of a Markdown text: where commands are written. */
function codeOf(text: string): string {
  const fenced = [...text.matchAll(/^```[^\n]*\n([\s\S]*?)^```/gm)].map((m) => m[1]);
  const inline = [...text.replace(/^```[\s\S]*?^```/gm, '').matchAll(/`([^`\n]+)`/g)].map((m) => m[1]);
  return [...fenced, ...inline].join('\n');
}

/** The CLI's commands as `attest --help` lists them: leaves, and groups with their subcommands. */
async function cliCommands(): Promise<{ leaves: Set<string>; groups: Map<string, Set<string>> }> {
  const out: string[] = [];
  await runCli(
    ['--help'],
    (l) => out.push(l),
    () => undefined,
  );
  const leaves = new Set<string>();
  const groups = new Map<string, Set<string>>();
  for (const line of out.join('\n').split('\n')) {
    const m = /^ {2}([a-z][a-z-]*)(?: ([a-z][a-z-]*))?(?:\s|$)/.exec(line);
    if (!m || m[1] === 'help') continue;
    if (m[2] && !/^(options|help)$/.test(m[2])) {
      if (!groups.has(m[1])) groups.set(m[1], new Set());
      groups.get(m[1])!.add(m[2]);
    } else leaves.add(m[1]);
  }
  return { leaves, groups };
}

describe('the admin docs and the README name only', () => {
  it('ATTEST_* settings that src/config/config.ts declares', () => {
    const declared = new Set([...Object.keys(SETTINGS), ...OTHER_SETTINGS]);
    const unknown = named(docs, /\b(ATTEST_[A-Z0-9_]*[A-Z0-9])\b(?!_?\*)/g).filter(
      (n) => !declared.has(n.name),
    );
    expect(unknown).toEqual([]);
  });

  it('values a setting accepts, where a doc shows NAME=value', () => {
    const shown = named(docs, /\b(ATTEST_[A-Z0-9_]+=[A-Za-z0-9][\w.-]*)(?![\w:/<.-])/g);
    expect(shown.length).toBeGreaterThan(5);
    const bad = shown.filter(({ name }) => {
      const [setting, value] = name.split('=');
      const def = (SETTINGS as Record<string, { schema: { safeParse(v: string): { success: boolean } } }>)[
        setting
      ];
      return def !== undefined && !def.schema.safeParse(value).success;
    });
    expect(bad).toEqual([]);
  });

  it('Graph permissions the code declares (src/adapters/graph/graph-permissions.ts), or ones it says are not needed', () => {
    const declared = GRAPH_APPLICATION_PERMISSIONS.map((p) => p.name);
    const found = named(adminDocs, /\b([A-Z][A-Za-z]+\.(?:Read|ReadWrite|Send)[A-Za-z]*(?:\.[A-Za-z]+)?)\b/g);
    expect(found.filter((n) => !declared.includes(n.name) && !NAMED_AS_NOT_GRANTED.includes(n.name))).toEqual(
      [],
    );
    // ... and both the deploy guide and the permissions page name every one of them.
    for (const file of ['docs/deploy.md', 'docs/permissions.md']) {
      const text = read(file);
      expect(declared.filter((name) => !text.includes(`\`${name}\``))).toEqual([]);
    }
  });

  it('app role ids that are the ones the code declares, where deploy.md lists them', () => {
    const listed = [
      ...read('docs/deploy.md').matchAll(/([0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}) +(\S+)$/gm),
    ];
    expect(listed.length).toBeGreaterThanOrEqual(4);
    for (const [, id, name] of listed)
      expect(GRAPH_APPLICATION_PERMISSIONS.find((p) => p.name === name)?.appRoleId).toBe(id);
    const mailSend = GRAPH_APPLICATION_PERMISSIONS.find((p) => p.name === 'Mail.Send')!;
    expect(read('docs/deploy.md')).toContain(`MAIL_SEND=${mailSend.appRoleId}`);
  });

  it('`attest` commands the CLI has', async () => {
    const { leaves, groups } = await cliCommands();
    expect(leaves.has('verify')).toBe(true);
    expect(groups.get('tickets')).toEqual(new Set(['list', 'release', 'skip']));
    const unknown = docs.flatMap(({ file, text }) =>
      [...codeOf(text).matchAll(/(?:^|[\s`(])attest ([a-z][a-z-]*)(?: ([a-z][a-z|-]*))?/gm)]
        .filter(([, command, sub]) => {
          if (leaves.has(command)) return false;
          const subs = groups.get(command);
          if (!subs) return true;
          return !sub || sub.split('|').some((s) => !subs.has(s));
        })
        .map((m) => `${file}: ${m[0].trim()}`),
    );
    expect(unknown).toEqual([]);
  });

  it('`npm run` scripts package.json has', () => {
    const scripts = Object.keys((JSON.parse(read('package.json')) as { scripts: object }).scripts);
    const unknown = named(docs, /\bnpm run ([a-z][\w:-]*)/g).filter((n) => !scripts.includes(n.name));
    expect(unknown).toEqual([]);
  });

  it('Bicep parameters infra/azure.bicep has, where deploy.md passes or lists them', () => {
    const params = new Set([...read('infra/azure.bicep').matchAll(/^param (\w+) /gm)].map((m) => m[1]));
    const deploy = read('docs/deploy.md');
    const passed = [...codeOf(deploy).matchAll(/(?<![\w$])([a-z]+[A-Z][A-Za-z]*)=(?!=)/g)].map((m) => m[1]);
    const tabled = [...deploy.matchAll(/^\| `([a-z]+[A-Z][A-Za-z]*)` +\|/gm)].map((m) => m[1]);
    expect(tabled.length).toBeGreaterThan(10);
    expect([...passed, ...tabled].filter((name) => !params.has(name))).toEqual([]);
  });

  it('deployment outputs and environment names that exist (Bicep outputs, env/.env.dev, settings)', () => {
    const outputs = [...read('infra/azure.bicep').matchAll(/^output ([A-Z0-9_]+) /gm)].map((m) => m[1]);
    const env = [...read('env/.env.dev').matchAll(/^#? ?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]);
    // Shell variables a doc's own commands set (APP_ID=$(az ad app create ...)).
    const shell = adminDocs.flatMap((d) =>
      [...codeOf(d.text).matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]),
    );
    const known = new Set([...outputs, ...env, ...shell, ...Object.keys(SETTINGS), ...OTHER_SETTINGS]);
    const unknown = named(adminDocs, /`\$?\{?\{?([A-Z][A-Z0-9]*_[A-Z0-9_]+)\}?\}?`/g).filter(
      (n) => !known.has(n.name),
    );
    expect(unknown).toEqual([]);
    // The names the federated-credential step reads are outputs, not guesses.
    expect(outputs).toEqual(expect.arrayContaining(['FUNCTION_PRINCIPAL_ID', 'FEDERATED_CREDENTIAL_ISSUER']));
  });
});
