import { runCli } from '../../../src/cli/main';

/** Runs the CLI in this process; every case here ends in parsing, before any storage is opened. */
async function attest(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(
    argv,
    (l) => out.push(l),
    (l) => err.push(l),
  );
  return { code, out, err };
}

test('attest --help lists every command with what it takes, and exits 0', async () => {
  const { code, out, err } = await attest('--help');
  expect(code).toBe(0);
  expect(err).toEqual([]);
  const help = out.join('\n');
  expect(help).toMatch(/^Usage: attest <command> \[--data DIR\]/);
  for (const line of [
    /^ {2}verify \[options\] +recompute every audit chain/m,
    /^ {2}digest +write an audit digest now/m,
    /^ {2}evidence --from <date> --to <date> --out <dir>$/m,
    /^ {2}tickets release \[options\] <stream> <rowKey>$/m,
    /^ {2}log <stream> +print one stream/m,
    /^ {2}export --from <date> --to <date> \[--format csv\|jsonl\] \[--out FILE\] \[--no-verify\]$/m,
    /^ {2}request --as <user> --app <app> --role <role> --duration <4h\|7d\|permanent> /m,
    /^ {2}decide --as <user> <requestId> approve\|deny \[--comment "..."\]$/m,
    /^ {2}status <requestId> +where a request is/m,
    /^ {2}demo +a scripted request/m,
    /^ {2}catalog check \[--file PATH\]$/m,
    /^ {2}--data <dir> +the data folder/m,
  ])
    expect(help).toMatch(line);
});

test.each([
  [['verify'], 'verify', []],
  [['log'], 'log <stream>', []],
  [['export'], 'export --from <date> --to <date> [--format csv|jsonl] [--out FILE]', ['--from', '--out']],
  [
    ['request'],
    'request --as <user>',
    ['--as', '--app', '--role', '--duration', '--justification', '--ticket'],
  ],
  [['decide'], 'decide --as <user> <requestId> approve|deny', ['--as', '--comment']],
  [['status'], 'status <requestId>', []],
  [['demo'], 'demo', []],
  [['catalog'], 'catalog <subcommand>', ['catalog check [--file PATH]']],
  [['catalog', 'check'], 'catalog check [--file PATH]', ['--file <path>']],
])('attest %j --help shows that command’s usage and options, and exits 0', async (command, usage, shown) => {
  const { code, out, err } = await attest(...command, '--help');
  expect(code).toBe(0);
  expect(err).toEqual([]);
  const help = out.join('\n');
  expect(help.split('\n')[0]).toContain(`Usage: attest ${usage}`);
  for (const s of shown) expect(help).toContain(s);
  // --data works on every command, so every command's help says so.
  expect(help).toMatch(/Global Options:\n {2}--data <dir>/);
});

test('attest help <command> is the same as attest <command> --help', async () => {
  const viaHelp = await attest('help', 'export');
  const viaOption = await attest('export', '--help');
  expect(viaHelp.code).toBe(0);
  expect(viaHelp.out).toEqual(viaOption.out);
});

/** A usage error: exit 2, nothing on stdout, `attest: <message>` first on stderr, then the help named. */
async function usageError(argv: string[], message: string, usage: string): Promise<void> {
  const { code, out, err } = await attest(...argv);
  expect(code).toBe(2);
  expect(out).toEqual([]);
  expect(err[0]).toBe(`attest: ${message}`);
  expect(err.slice(1).join('\n')).toContain(`Usage: attest ${usage}`);
}

test('an unknown command exits 2, names it, and shows the list of commands', async () => {
  await usageError(['frobnicate'], 'unknown command frobnicate', '<command> [--data DIR]');
  await usageError(['verfy'], 'unknown command verfy (did you mean verify?)', '<command> [--data DIR]');
  await usageError(['catalog', 'publish'], 'unknown command publish', 'catalog <subcommand>');
});

test('no command, or a group without its subcommand, exits 2 and says what is missing', async () => {
  await usageError([], 'no command given', '<command> [--data DIR]');
  await usageError(['--data', '/tmp/somewhere'], 'no command given', '<command> [--data DIR]');
  await usageError(['catalog'], 'catalog needs a subcommand: check', 'catalog <subcommand>');
});

test('an unknown option exits 2 and names it, with the help of the command it was given to', async () => {
  await usageError(['verify', '--bogus'], 'unknown option --bogus', 'verify');
  await usageError(['verify', '--dta', 'x'], 'unknown option --dta (did you mean --data?)', 'verify');
  await usageError(
    ['status', 'r-1', '--as', 'alex'],
    '--as is an option of request, decide, tickets release, tickets skip, not of status',
    'status',
  );
  await usageError(
    ['verify', '--from', '2026-11-01'],
    '--from is an option of export, evidence, not of verify',
    'verify',
  );
  await usageError(
    ['--from', '2026-11-01', 'export'],
    '--from goes after the command: attest export --from …',
    'export',
  );
  await usageError(
    ['catalog', '--file', 'c.yaml'],
    '--file is an option of catalog check, not of catalog',
    'catalog',
  );
});

test('an option without its value exits 2 and names the option, at the end or followed by another option', async () => {
  await usageError(['export', '--from', '2026-11-01', '--to'], '--to needs a value', 'export');
  await usageError(['export', '--from', '--to', '2026-12-01'], '--from needs a value', 'export');
  await usageError(['export', '--from=', '--to', '2026-12-01'], '--from needs a value', 'export');
  await usageError(['log', 'req-1', '--data'], '--data needs a value', 'log');
  await usageError(['verify', '--data', '--help'], '--data needs a value', 'verify');
  await usageError(['catalog', 'check', '--file'], '--file needs a value', 'catalog check');
  await usageError(['decide', 'r-1', 'approve', '--as'], '--as needs a value', 'decide');
});

test('an export option given twice is refused rather than the last one winning', async () => {
  await usageError(
    ['export', '--from', '2026-11-01', '--from=2026-11-02', '--to', '2026-12-01'],
    '--from given twice',
    'export',
  );
});

test('positional arguments missing or in excess exit 2 and say what the command takes', async () => {
  await usageError(['log'], 'log needs <stream>', 'log');
  await usageError(['verify', 'now'], 'verify takes options only, not now', 'verify');
  await usageError(
    ['export', '--from', '2026-11-01', '--to', '2026-12-01', 'x'],
    'export takes options only, not x',
    'export',
  );
  await usageError(
    ['decide', 'r-1', 'approve', 'now'],
    'unexpected now after decide <requestId> <decision>',
    'decide',
  );
});

test('the export’s own validation is a usage error with the export’s help', async () => {
  await usageError(
    ['export', '--from', '2026-11-01'],
    'export needs --to, e.g. attest export --from 2026-11-01 --to 2026-12-01',
    'export',
  );
  await usageError(
    ['export', '--from', '2026-11-01', '--to', '2026-12-01', '--format', 'xlsx'],
    '--format xlsx is not a format: use csv or jsonl.',
    'export',
  );
});

test('request, decide and status say what is missing before opening any storage', async () => {
  await usageError(
    ['request', '--as', 'alex', '--app', 'github', '--role', 'owner'],
    '--duration is required',
    'request',
  );
  await usageError(
    ['request', '--duration', '4h', '--app', 'github', '--role', 'owner'],
    '--as is required',
    'request',
  );
  await usageError(
    ['decide', 'r-1', 'maybe', '--as', 'priya'],
    'decide needs <requestId> approve|deny',
    'decide',
  );
  await usageError(['decide', 'r-1', 'approve'], '--as is required', 'decide');
  await usageError(['status'], 'status needs <requestId>', 'status');
});
