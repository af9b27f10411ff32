/**
 * scripts/federated-credential.sh, the provision step that lets the function app's identity sign in as the Entra
 * app. The Azure CLI cannot run here, so a stand-in `az` on PATH records its arguments and answers the list query
 * as the real one does with `-o tsv` (the credential's id, or nothing).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const script = path.resolve(__dirname, '..', '..', 'scripts', 'federated-credential.sh');
const APP = '11111111-2222-4333-8444-555555555555';
const PRINCIPAL = '66666666-7777-4888-9999-aaaaaaaaaaaa';
const ISSUER = 'https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0';

/** Runs the script with a stand-in `az` whose list query prints `existingId`; returns what `az` was called with. */
function run(args: string[], existingId = '') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fic-'));
  const calls = path.join(dir, 'calls.jsonl');
  fs.writeFileSync(
    path.join(dir, 'az'),
    `#!/usr/bin/env node
require('fs').appendFileSync(${JSON.stringify(calls)}, JSON.stringify(process.argv.slice(2)) + '\\n');
if (process.argv.includes('list')) process.stdout.write(${JSON.stringify(existingId ? `${existingId}\n` : '')});
`,
    { mode: 0o755 },
  );
  const result = spawnSync('bash', [script, ...args], {
    env: { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}` },
    encoding: 'utf8',
  });
  const azCalls = fs.existsSync(calls)
    ? fs
        .readFileSync(calls, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as string[])
    : [];
  fs.rmSync(dir, { recursive: true, force: true });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, azCalls };
}

/** The --parameters JSON of a create or update call. */
function parametersOf(call: string[]): Record<string, unknown> {
  return JSON.parse(call[call.indexOf('--parameters') + 1]) as Record<string, unknown>;
}

test('creates the credential when the app has none: issuer, the identity as subject, the token-exchange audience', () => {
  const { code, azCalls, stdout } = run([APP, PRINCIPAL, ISSUER]);
  expect(code).toBe(0);
  expect(azCalls.map((c) => c.slice(0, 4).join(' '))).toEqual([
    'ad app federated-credential list',
    'ad app federated-credential create',
  ]);
  expect(azCalls[1]).toEqual(expect.arrayContaining(['--id', APP]));
  expect(parametersOf(azCalls[1])).toEqual({
    name: 'attest-function-app',
    issuer: ISSUER,
    subject: PRINCIPAL,
    audiences: ['api://AzureADTokenExchange'],
    description: expect.any(String),
  });
  expect(stdout).toContain('created attest-function-app');
});

test('updates the existing credential instead of adding a second one (a recreated function app has a new identity)', () => {
  const { code, azCalls } = run([APP, PRINCIPAL, ISSUER], 'c0ffee00-0000-4000-8000-000000000001');
  expect(code).toBe(0);
  expect(azCalls[1].slice(0, 4).join(' ')).toBe('ad app federated-credential update');
  expect(azCalls[1]).toEqual(
    expect.arrayContaining(['--federated-credential-id', 'c0ffee00-0000-4000-8000-000000000001']),
  );
  expect(parametersOf(azCalls[1]).subject).toBe(PRINCIPAL);
});

const badInputs: [string, string[], RegExp][] = [
  ['app client id', ['', PRINCIPAL, ISSUER], /app client id '' is not a GUID \(AAD_APP_CLIENT_ID/],
  [
    'principal id',
    [APP, 'not-a-guid', ISSUER],
    /principal id 'not-a-guid' is not a GUID \(FUNCTION_PRINCIPAL_ID/,
  ],
  [
    'issuer',
    [APP, PRINCIPAL, 'https://sts.windows.net/x/'],
    /issuer .* is not https:\/\/<login host>\/<tenant id>\/v2\.0/,
  ],
];

test.each(badInputs)(
  'refuses a bad %s before calling Azure, saying which value is wrong and where it comes from',
  (_what, args, message) => {
    const { code, stderr, azCalls } = run(args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(azCalls).toEqual([]);
  },
);

test('stops when the Azure CLI fails, without claiming success', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fic-'));
  fs.writeFileSync(path.join(dir, 'az'), '#!/bin/sh\necho "ERROR: Insufficient privileges" >&2\nexit 1\n', {
    mode: 0o755,
  });
  const result = spawnSync('bash', [script, APP, PRINCIPAL, ISSUER], {
    env: { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}` },
    encoding: 'utf8',
  });
  fs.rmSync(dir, { recursive: true, force: true });
  expect(result.status).not.toBe(0);
  expect(result.stderr).toContain('Insufficient privileges');
  expect(result.stdout).not.toMatch(/created|now names/);
});
