/**
 * The Teams app package (appPackage.<env>.zip: manifest.json and its two icons), built the way the Agents
 * Toolkit's teamsApp/zipAppPackage builds it: `${{NAME}}` placeholders in appPackage/manifest.json substituted
 * from the process environment, else env/.env.<env>; then validated against the Teams manifest JSON schema that
 * @microsoft/app-manifest ships (the one the toolkit validates with), with the icons Teams accepts. Used by
 * scripts/package.mjs and scripts/check-package.mjs.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';

const require = createRequire(import.meta.url);

/** `${{NAME}}`, as the toolkit writes placeholders. */
const PLACEHOLDER = /\$\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;

/** The keys and values of a dotenv file (`KEY=value` lines; `#` comments; values may be empty or quoted). */
export function readEnvFile(file) {
  const values = {};
  for (const raw of fs.readFileSync(file, 'utf8').split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || !line.includes('=')) continue;
    const key = line.slice(0, line.indexOf('=')).trim();
    let value = line.slice(line.indexOf('=') + 1).trim();
    if (/^(['"]).*\1$/.test(value)) value = value.slice(1, -1);
    values[key] = value;
  }
  return values;
}

/**
 * Replaces every placeholder in `text` with its value from `sources` (the first source with a non-empty value
 * wins). Returns the text and the names that had no value anywhere.
 */
export function substitutePlaceholders(text, ...sources) {
  const missing = new Set();
  const out = text.replace(PLACEHOLDER, (whole, name) => {
    for (const source of sources) {
      const value = source[name];
      if (value !== undefined && String(value).trim() !== '') return String(value).trim();
    }
    missing.add(name);
    return whole;
  });
  return { text: out, missing: [...missing].sort() };
}

/** The schema file @microsoft/app-manifest ships for a manifest version, or undefined when it ships none. */
export function manifestSchemaFile(version) {
  const root = path.dirname(path.dirname(require.resolve('@microsoft/app-manifest')));
  const file = path.join(root, 'build', 'json-schemas', 'teams', `v${version}`, 'MicrosoftTeams.schema.json');
  return fs.existsSync(file) ? file : undefined;
}

/** The manifest versions whose schemas @microsoft/app-manifest ships, oldest first (devPreview left out). */
export function shippedManifestVersions() {
  const root = path.dirname(path.dirname(require.resolve('@microsoft/app-manifest')));
  return fs
    .readdirSync(path.join(root, 'build', 'json-schemas', 'teams'))
    .filter((d) => /^v\d+\.\d+$/.test(d))
    .map((d) => d.slice(1))
    .sort((a, b) => {
      const [x, y] = [a.split('.').map(Number), b.split('.').map(Number)];
      return x[0] - y[0] || x[1] - y[1];
    });
}

/**
 * Schema problems of a substituted manifest (empty when it validates): checked against the local schema of its
 * manifestVersion, never one fetched from the network, and with its $schema naming that same version.
 */
export async function validateManifest(manifest) {
  const version = manifest.manifestVersion;
  const file = manifestSchemaFile(version);
  if (!file)
    return [
      `manifestVersion "${version}" is not a schema @microsoft/app-manifest ships (${shippedManifestVersions().join(', ')})`,
    ];
  const expected = `https://developer.microsoft.com/json-schemas/teams/v${version}/MicrosoftTeams.schema.json`;
  const problems = [];
  if (manifest.$schema !== expected)
    problems.push(`$schema is "${manifest.$schema}"; for manifestVersion ${version} it is ${expected}`);
  const { AppManifestUtils } = require('@microsoft/app-manifest');
  const schema = JSON.parse(fs.readFileSync(file, 'utf8'));
  problems.push(...(await AppManifestUtils.validateAgainstSchema(manifest, schema)));
  return problems;
}

/** Width and height of a PNG, or undefined when the bytes are not one. */
function pngSize(bytes) {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 24 || signature.some((b, i) => bytes[i] !== b)) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/** Problems of the icons a manifest names: colour 192x192 and outline 32x32 PNGs, as Teams requires. */
function iconProblems(manifest, readFile) {
  const problems = [];
  for (const [key, size] of [
    ['color', 192],
    ['outline', 32],
  ]) {
    const name = manifest.icons?.[key];
    const bytes = name ? readFile(name) : undefined;
    if (!bytes) {
      problems.push(`icons.${key}: ${name ?? '(none)'} is not in the package`);
      continue;
    }
    const png = pngSize(bytes);
    if (!png || png.width !== size || png.height !== size)
      problems.push(`icons.${key}: ${name} must be a ${size}x${size} PNG`);
  }
  return problems;
}

/** Thrown when the app package cannot be built or does not validate; `message` says what to fix. */
export class AppPackageError extends Error {}

/**
 * Builds appPackage.<env>.zip from `root`/appPackage: refuses (AppPackageError) a placeholder with no value,
 * a manifest the schema refuses, or an icon Teams would refuse. Returns the zip's path.
 */
export async function buildAppPackage({ root, env, processEnv = process.env, outFile }) {
  const envFile = path.join(root, 'env', `.env.${env}`);
  if (!fs.existsSync(envFile))
    throw new AppPackageError(
      `${path.relative(root, envFile)} does not exist: name an environment of env/ with --env (e.g. --env dev)`,
    );
  const template = fs.readFileSync(path.join(root, 'appPackage', 'manifest.json'), 'utf8');
  const { text, missing } = substitutePlaceholders(template, processEnv, readEnvFile(envFile));
  if (missing.length > 0)
    throw new AppPackageError(
      `appPackage/manifest.json uses ${missing.map((n) => '${{' + n + '}}').join(', ')}, with no value in the environment or in ${path.relative(root, envFile)}. ` +
        'Run `atk provision --env ' +
        env +
        '` (it writes them), or set them in that file or the environment.',
    );
  const manifest = JSON.parse(text);
  const files = { 'manifest.json': strToU8(JSON.stringify(manifest, null, 2) + '\n') };
  for (const key of ['color', 'outline']) {
    const name = manifest.icons?.[key];
    const file = name && path.join(root, 'appPackage', name);
    if (file && fs.existsSync(file)) files[name] = new Uint8Array(fs.readFileSync(file));
  }
  const problems = [...(await validateManifest(manifest)), ...iconProblems(manifest, (n) => files[n])];
  if (problems.length > 0)
    throw new AppPackageError(
      `appPackage/manifest.json (with ${path.relative(root, envFile)}) does not validate:\n  ${problems.join('\n  ')}`,
    );
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, zipSync(files, { level: 9 }));
  return outFile;
}

/**
 * Problems of a built app package (empty when Teams would take it): manifest.json and its icons at the zip's
 * root, no placeholder left, the schema and the icon sizes. Also returns the manifest read.
 */
export async function checkAppPackage(zipFile) {
  const entries = unzipSync(new Uint8Array(fs.readFileSync(zipFile)));
  if (!entries['manifest.json']) return { problems: [`${zipFile}: no manifest.json at its root`] };
  const text = strFromU8(entries['manifest.json']);
  const left = [...new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[1]))];
  const problems = left.map((n) => `manifest.json: \${{${n}}} was not substituted`);
  const manifest = JSON.parse(text);
  problems.push(...(await validateManifest(manifest)), ...iconProblems(manifest, (n) => entries[n]));
  const extra = Object.keys(entries).filter(
    (n) => n !== 'manifest.json' && n !== manifest.icons?.color && n !== manifest.icons?.outline,
  );
  if (extra.length > 0) problems.push(`unexpected files in the app package: ${extra.join(', ')}`);
  return { problems, manifest };
}
