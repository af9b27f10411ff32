/**
 * The deployable package hangs together: the Teams manifest is complete for its schema version, its icons are
 * what Teams accepts, every placeholder it uses has a value in the dev environment, and the app settings the
 * Bicep templates write are settings Attest's config actually reads.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { AppManifestUtils } from '@microsoft/app-manifest';
import {
  GRAPH_APPLICATION_PERMISSIONS,
  MICROSOFT_GRAPH_APP_ID,
} from '../../src/adapters/graph/graph-permissions';

const root = path.resolve(__dirname, '..', '..');
const read = (relative: string): string => fs.readFileSync(path.join(root, relative), 'utf8');

interface CommandList {
  scopes: string[];
  commands: { title: string; description: string }[];
}

interface Manifest {
  $schema: string;
  manifestVersion: string;
  version: string;
  id: string;
  developer: { name: string; websiteUrl: string; privacyUrl: string; termsOfUseUrl: string };
  name: { short: string; full: string };
  description: { short: string; full: string };
  icons: { color: string; outline: string };
  accentColor: string;
  bots: { botId: string; scopes: string[]; supportsFiles: boolean; commandLists: CommandList[] }[];
  staticTabs: {
    entityId: string;
    name?: string;
    contentUrl?: string;
    websiteUrl?: string;
    scopes: string[];
  }[];
  validDomains: string[];
  webApplicationInfo: { id: string; resource: string };
}

const manifestText = read('appPackage/manifest.json');
const manifest = JSON.parse(manifestText) as Manifest;

/** The Teams manifest schemas @microsoft/app-manifest ships (build/json-schemas/teams/v<version>). */
const schemaRoot = path.join(
  path.dirname(require.resolve('@microsoft/app-manifest/package.json')),
  'build',
  'json-schemas',
  'teams',
);
function shippedSchemaVersions(): string[] {
  return fs
    .readdirSync(schemaRoot)
    .filter((d) => /^v\d+\.\d+$/.test(d))
    .map((d) => d.slice(1))
    .sort(
      (a, b) =>
        Number(a.split('.')[0]) - Number(b.split('.')[0]) ||
        Number(a.split('.')[1]) - Number(b.split('.')[1]),
    );
}
const schemaFor = (version: string): unknown =>
  JSON.parse(fs.readFileSync(path.join(schemaRoot, `v${version}`, 'MicrosoftTeams.schema.json'), 'utf8'));

/** Values as provisioning writes them (GUIDs, the function app's host name) and the dev environment's publisher. */
const PROVISIONED: Record<string, string> = {
  TEAMS_APP_ID: '3f1e2d4c-5b6a-4789-8a0b-1c2d3e4f5a6b',
  BOT_ID: '1a2b3c4d-0000-4000-8000-000000000001',
  AAD_APP_CLIENT_ID: '5b7e2d1c-3f4a-4b8c-9d0e-1f2a3b4c5d6e',
  BOT_DOMAIN: 'attest-dev-fn.azurewebsites.net',
};

/** The manifest with every placeholder replaced, as the toolkit's zipAppPackage does. */
function substituted(text: string): Manifest {
  const values = { ...envValues(read('env/.env.dev')), ...PROVISIONED };
  return JSON.parse(
    text.replace(/\$\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g, (_, name: string) => {
      if (!values[name]) throw new Error(`no value for \${{${name}}}`);
      return values[name];
    }),
  ) as Manifest;
}

/** `${{NAME}}` placeholders the Agents Toolkit substitutes from env/.env.<env>. */
function placeholders(text: string): string[] {
  return [...new Set([...text.matchAll(/\$\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g)].map((m) => m[1]))].sort();
}

/** Keys and values of a dotenv file. */
function envValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/).map((l) => l.trim())) {
    if (line === '' || line.startsWith('#') || !line.includes('=')) continue;
    out[line.slice(0, line.indexOf('=')).trim()] = line.slice(line.indexOf('=') + 1).trim();
  }
  return out;
}

/** Keys of a dotenv file; values may be empty (provisioning fills them). */
function envKeys(text: string): Set<string> {
  const keys = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.slice(0, line.indexOf('=')).trim());
  return new Set(keys);
}

interface Png {
  width: number;
  height: number;
  bitDepth: number;
  colourType: number;
  /** RGBA bytes, present when the image is 8-bit RGBA, non-interlaced. */
  rgba?: Buffer;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Reads IHDR and, for 8-bit RGBA images, the pixels (undoing the five PNG row filters). */
function readPng(relative: string): Png {
  const bytes = fs.readFileSync(path.join(root, relative));
  if (!bytes.subarray(0, 8).equals(PNG_SIGNATURE)) throw new Error(`${relative} is not a PNG`);
  if (bytes.toString('ascii', 12, 16) !== 'IHDR') throw new Error(`${relative} does not start with IHDR`);
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  const bitDepth = bytes[24];
  const colourType = bytes[25];
  const interlaced = bytes[28] !== 0;
  if (bitDepth !== 8 || colourType !== 6 || interlaced) return { width, height, bitDepth, colourType };

  const idat: Buffer[] = [];
  for (let offset = 8; offset < bytes.length;) {
    const length = bytes.readUInt32BE(offset);
    if (bytes.toString('ascii', offset + 4, offset + 8) === 'IDAT')
      idat.push(bytes.subarray(offset + 8, offset + 8 + length));
    offset += 12 + length;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * 4;
  const rgba = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const value = raw[y * (stride + 1) + 1 + x];
      const left = x >= 4 ? rgba[y * stride + x - 4] : 0;
      const up = y > 0 ? rgba[(y - 1) * stride + x] : 0;
      const upLeft = x >= 4 && y > 0 ? rgba[(y - 1) * stride + x - 4] : 0;
      let predictor = 0;
      if (filter === 1) predictor = left;
      else if (filter === 2) predictor = up;
      else if (filter === 3) predictor = (left + up) >> 1;
      else if (filter === 4) {
        const p = left + up - upLeft;
        const [pa, pb, pc] = [Math.abs(p - left), Math.abs(p - up), Math.abs(p - upLeft)];
        predictor = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
      }
      rgba[y * stride + x] = (value + predictor) & 0xff;
    }
  }
  return { width, height, bitDepth, colourType, rgba };
}

/** Every .bicep file under infra/. */
function bicepFiles(): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const relative = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(relative);
      else if (entry.name.endsWith('.bicep')) found.push(relative);
    }
  };
  walk('infra');
  return found.sort();
}

/** Names declared in config.ts's SETTINGS object, read as text so this test never loads the module. */
function declaredSettings(): Set<string> {
  const source = read('src/config/config.ts');
  const start = source.indexOf('export const SETTINGS = {');
  const end = source.indexOf('} as const;', start);
  if (start < 0 || end < 0)
    throw new Error('src/config/config.ts no longer declares `export const SETTINGS = { ... } as const`');
  return new Set([...source.slice(start, end).matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]));
}

describe('the Teams app manifest', () => {
  it('declares the newest schema version @microsoft/app-manifest ships, in both $schema and manifestVersion', () => {
    const newest = shippedSchemaVersions().at(-1);
    expect(manifest.manifestVersion).toBe(newest);
    expect(manifest.$schema).toBe(
      `https://developer.microsoft.com/json-schemas/teams/v${newest}/MicrosoftTeams.schema.json`,
    );
  });

  it('validates against its schema once the placeholders have realistic values', async () => {
    const problems = await AppManifestUtils.validateAgainstSchema(
      substituted(manifestText) as never,
      schemaFor(manifest.manifestVersion) as never,
    );
    expect(problems).toEqual([]);
  });

  it('is refused by the same validation when it breaks the schema', async () => {
    const broken = substituted(manifestText) as Record<string, unknown> & Manifest;
    broken.name = { ...broken.name, short: 'A short name far longer than thirty characters' };
    broken.bots = [{ ...broken.bots[0], scopes: ['personal', 'everywhere'] }];
    delete (broken as Partial<Manifest>).developer;
    const problems = await AppManifestUtils.validateAgainstSchema(
      broken as never,
      schemaFor(manifest.manifestVersion) as never,
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^ must have required property 'developer'/),
        expect.stringMatching(/^\/name\/short must NOT have more than 30 characters/),
        expect.stringMatching(/^\/bots\/0\/scopes\/1 must be equal to one of the allowed values/),
      ]),
    );
  });

  it('has every field the schema requires, within its length limits', () => {
    for (const field of [
      'manifestVersion',
      'version',
      'id',
      'developer',
      'name',
      'description',
      'icons',
      'accentColor',
    ]) {
      expect(manifest).toHaveProperty(field);
    }
    expect(manifest.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(manifest.id).toBe('${{TEAMS_APP_ID}}');
    expect(Object.keys(manifest.developer).sort()).toEqual([
      'name',
      'privacyUrl',
      'termsOfUseUrl',
      'websiteUrl',
    ]);
    expect(manifest.name.short.length).toBeLessThanOrEqual(30);
    expect(manifest.name.full.length).toBeLessThanOrEqual(100);
    expect(manifest.description.short.length).toBeLessThanOrEqual(80);
    expect(manifest.description.full.length).toBeLessThanOrEqual(4000);
    expect(manifest.accentColor).toMatch(/^#[0-9A-Fa-f]{6}$/);
  });

  it('declares one bot with the provisioned BOT_ID, in personal, team and group chat, without file support', () => {
    expect(manifest.bots).toHaveLength(1);
    const [bot] = manifest.bots;
    expect(bot.botId).toBe('${{BOT_ID}}');
    expect([...bot.scopes].sort()).toEqual(['groupChat', 'personal', 'team']);
    expect(bot.supportsFiles).toBe(false);
  });

  it('lists the request, my access, pending, status and help commands for personal chat', () => {
    const personal = manifest.bots[0].commandLists.find((list) => list.scopes.includes('personal'));
    expect(personal?.commands.map((c) => c.title)).toEqual([
      'request',
      'my access',
      'pending',
      'status',
      'help',
    ]);
    for (const list of manifest.bots[0].commandLists) {
      for (const command of list.commands) {
        expect(command.title.length).toBeLessThanOrEqual(32);
        expect(command.description.length).toBeLessThanOrEqual(128);
      }
    }
  });

  it('declares the personal "Access reviews" tab served from the bot domain', () => {
    const tab = manifest.staticTabs.find((t) => t.entityId === 'reviews');
    expect(tab).toEqual({
      entityId: 'reviews',
      name: 'Access reviews',
      contentUrl: 'https://${{BOT_DOMAIN}}/api/tab/index.html',
      websiteUrl: 'https://${{BOT_DOMAIN}}/api/tab/index.html',
      scopes: ['personal'],
    });
  });

  it('enables tab SSO for the Entra app on api://<bot domain>/<client id>, a domain it trusts', () => {
    expect(manifest.webApplicationInfo).toEqual({
      id: '${{AAD_APP_CLIENT_ID}}',
      resource: 'api://${{BOT_DOMAIN}}/${{AAD_APP_CLIENT_ID}}',
    });
    expect(manifest.validDomains).toContain('${{BOT_DOMAIN}}');
  });
});

describe('the app icons', () => {
  it('colour icon is a 192x192 PNG', () => {
    const png = readPng(`appPackage/${manifest.icons.color}`);
    expect([png.width, png.height]).toEqual([192, 192]);
  });

  it('outline icon is a 32x32 PNG with an alpha channel', () => {
    const png = readPng(`appPackage/${manifest.icons.outline}`);
    expect([png.width, png.height]).toEqual([32, 32]);
    expect(png.colourType).toBe(6);
  });

  it('outline icon is white on a transparent background', () => {
    const { rgba } = readPng(`appPackage/${manifest.icons.outline}`);
    if (!rgba) throw new Error('outline.png is expected to be 8-bit RGBA, not interlaced');
    let transparent = 0;
    for (let i = 0; i < rgba.length; i += 4) {
      if (rgba[i + 3] === 0) transparent++;
      else expect([rgba[i], rgba[i + 1], rgba[i + 2]]).toEqual([255, 255, 255]);
    }
    expect(transparent).toBeGreaterThan(0);
  });
});

describe('the dev environment file', () => {
  const defined = envKeys(read('env/.env.dev'));

  it('defines every ${{VAR}} placeholder manifest.json uses', () => {
    const missing = placeholders(manifestText).filter((name) => !defined.has(name));
    expect(missing).toEqual([]);
  });

  it('defines every ${{VAR}} placeholder the Bicep parameters and m365agents.yml use', () => {
    const used = placeholders(read('infra/azure.parameters.json') + read('m365agents.yml'));
    expect(used.filter((name) => !defined.has(name))).toEqual([]);
  });

  it('holds no secret values', () => {
    expect(read('env/.env.dev')).not.toMatch(/^(SECRET_|[A-Z_]*(PASSWORD|TOKEN|CLIENT_SECRET))=\S/m);
  });
});

describe("the tab's Entra app registration (aad.manifest.json, applied by aadApp/update)", () => {
  interface AadManifest {
    identifierUris: string[];
    api: {
      requestedAccessTokenVersion: number;
      oauth2PermissionScopes: { id: string; value: string; type: string; isEnabled: boolean }[];
      preAuthorizedApplications: { appId: string; delegatedPermissionIds: string[] }[];
    };
  }
  const aad = JSON.parse(read('aad.manifest.json')) as AadManifest;

  it('is the file m365agents.yml applies', () => {
    expect(read('m365agents.yml')).toContain('manifestPath: ./aad.manifest.json');
  });

  it("exposes access_as_user on the URI the Teams manifest's webApplicationInfo names, in v2 tokens", () => {
    expect(aad.identifierUris).toEqual([manifest.webApplicationInfo.resource]);
    // v2: the issuer the tab API checks is https://login.microsoftonline.com/<tid>/v2.0.
    expect(aad.api.requestedAccessTokenVersion).toBe(2);
    expect(aad.api.oauth2PermissionScopes).toEqual([
      expect.objectContaining({
        value: 'access_as_user',
        type: 'User',
        isEnabled: true,
        id: '${{AAD_APP_ACCESS_AS_USER_PERMISSION_ID}}',
      }),
    ]);
  });

  it('pre-authorises exactly the Teams clients the tab API accepts as azp (config.ts TEAMS_CLIENT_IDS)', () => {
    expect(aad.api.preAuthorizedApplications).toEqual(
      ['1fec8e78-bce4-4aaf-ab1b-5451cc387264', '5e3ce6c0-2b1f-4285-8d4b-75ee78787346'].map((appId) => ({
        appId,
        delegatedPermissionIds: ['${{AAD_APP_ACCESS_AS_USER_PERMISSION_ID}}'],
      })),
    );
    const config = read('src/config/config.ts');
    for (const { appId } of aad.api.preAuthorizedApplications) expect(config).toContain(`'${appId}'`);
  });
});

describe("the Entra app's Graph application permissions (requiredResourceAccess)", () => {
  const aad = JSON.parse(read('aad.manifest.json')) as {
    requiredResourceAccess: { resourceAppId: string; resourceAccess: { id: string; type: string }[] }[];
  };
  const graph = aad.requiredResourceAccess.find((r) => r.resourceAppId === MICROSOFT_GRAPH_APP_ID);
  const roles = (graph?.resourceAccess ?? []).filter((a) => a.type === 'Role').map((a) => a.id);

  it('are exactly the app roles admin consent grants, from the one list the code declares', () => {
    expect(roles.sort()).toEqual(
      GRAPH_APPLICATION_PERMISSIONS.filter((p) => p.grantedBy === 'admin-consent')
        .map((p) => p.appRoleId)
        .sort(),
    );
  });

  it('leave Mail.Send out: an Entra grant would cover every mailbox, so Exchange RBAC scopes it instead', () => {
    const mailSend = GRAPH_APPLICATION_PERMISSIONS.find((p) => p.name === 'Mail.Send');
    expect(mailSend?.grantedBy).toBe('exchange-rbac');
    expect(roles).not.toContain(mailSend?.appRoleId);
  });

  it('cover every permission the Graph directory adapter names in its FORBIDDEN messages', () => {
    const adapter = read('src/adapters/graph/graph-directory.ts');
    const named = new Set(
      [...adapter.matchAll(/\b([A-Z][A-Za-z]+\.(?:Read|ReadWrite)\.All)\b/g)].map((m) => m[1]),
    );
    const granted = GRAPH_APPLICATION_PERMISSIONS.map((p) => p.name);
    // A ReadWrite permission covers its Read one (GroupMember.ReadWrite.All reads members too).
    const covered = (name: string) =>
      granted.includes(name) || granted.includes(name.replace('.Read.', '.ReadWrite.'));
    expect(named.size).toBeGreaterThan(2);
    expect([...named].filter((name) => !covered(name))).toEqual([]);
  });
});

describe('host.json', () => {
  interface Host {
    logging: {
      logLevel: Record<string, string>;
      applicationInsights: { samplingSettings: { isEnabled: boolean; excludedTypes: string } };
    };
    extensionBundle: { id: string; version: string };
    extensions: {
      durableTask: {
        hubName: string;
        storageProvider: { partitionCount: number };
        tracing: { traceInputsAndOutputs: boolean };
      };
    };
  }
  const host = JSON.parse(read('host.json')) as Host;

  it('names the task hub from ATTEST_TASK_HUB, the setting the Bicep sets', () => {
    expect(host.extensions.durableTask.hubName).toBe('%ATTEST_TASK_HUB%');
  });

  it('takes extension bundle 4 (Durable Functions 2.x/3.x for Node v4), no later major', () => {
    expect(host.extensionBundle).toEqual({
      id: 'Microsoft.Azure.Functions.ExtensionBundle',
      version: '[4.*, 5.0.0)',
    });
  });

  it("fixes the partition count at 4, within Azure Storage's 1-16 (docs/operations.md says why; it cannot change on a live hub)", () => {
    expect(host.extensions.durableTask.storageProvider.partitionCount).toBe(4);
    expect(read('docs/operations.md')).toMatch(/partitionCount/);
  });

  it('logs Information by default and for results and functions, Durable internals only from Warning', () => {
    const levels = host.logging.logLevel;
    expect(levels.default).toBe('Information');
    expect(levels['Host.Results']).toBe('Information');
    expect(levels.Function).toBe('Information');
    expect(levels['DurableTask.AzureStorage']).toBe('Warning');
    expect(levels['DurableTask.Core']).toBe('Warning');
  });

  it('samples telemetry but keeps every request and exception, and never traces orchestration inputs', () => {
    const sampling = host.logging.applicationInsights.samplingSettings;
    expect(sampling.isEnabled).toBe(true);
    expect(sampling.excludedTypes.split(';').sort()).toEqual(['Exception', 'Request']);
    // Inputs and outputs carry people's names, justifications and group ids.
    expect(host.extensions.durableTask.tracing.traceInputsAndOutputs).toBe(false);
  });
});

describe('the Azure templates', () => {
  const bicep = bicepFiles().map((file) => ({ file, text: read(file) }));
  const allBicep = bicep.map((b) => b.text).join('\n');

  it('name only ATTEST_* app settings that src/config/config.ts declares in SETTINGS', () => {
    const settings = declaredSettings();
    const unknown = bicep.flatMap(({ file, text }) =>
      [...new Set(text.match(/\bATTEST_[A-Z0-9_]+\b/g) ?? [])]
        .filter((name) => !settings.has(name))
        .map((name) => `${file}: ${name}`),
    );
    expect(unknown).toEqual([]);
  });

  it('set every setting Attest needs in Azure with managed identity, Graph and a managed-identity bot', () => {
    for (const name of [
      'ATTEST_STORAGE_MODE',
      'ATTEST_STORAGE_TABLE_URL',
      'ATTEST_STORAGE_BLOB_URL',
      'ATTEST_DIRECTORY_MODE',
      'ATTEST_GRAPH_TENANT_ID',
      'ATTEST_GRAPH_CLIENT_ID',
      'ATTEST_GRAPH_CREDENTIAL',
      'ATTEST_TICKETS_MODE',
      'ATTEST_MAIL_MODE',
      'ATTEST_MAIL_SENDER',
      'ATTEST_BOT_AUTH',
      'ATTEST_BOT_APP_ID',
      'ATTEST_BOT_TENANT_ID',
      'ATTEST_ALLOWED_TENANTS',
      'ATTEST_TASK_HUB',
      'ATTEST_TAB_AUTH',
      'ATTEST_TAB_CLIENT_ID',
      'ATTEST_TAB_APP_ID_URI',
    ]) {
      expect(allBicep).toMatch(new RegExp(`\\b${name}:`));
    }
    expect(allBicep).toMatch(/ATTEST_TAB_AUTH: 'entra'/);
    // The URI the tab's tokens are for is the one the manifest's webApplicationInfo names.
    expect(allBicep).toContain("tabAppIdUri: 'api://${functionApp.outputs.hostName}/${tabClientId}'");
    expect(manifest.webApplicationInfo.resource).toBe('api://${{BOT_DOMAIN}}/${{AAD_APP_CLIENT_ID}}');
    expect(allBicep).toMatch(/ATTEST_STORAGE_MODE: 'managed-identity'/);
    expect(allBicep).toMatch(/ATTEST_BOT_AUTH: 'managed-identity'/);
  });

  it('keep secrets in Key Vault references, never in settings or parameters', () => {
    expect(allBicep).toMatch(/ATTEST_JIRA_API_TOKEN: jiraTokenReference/);
    expect(allBicep).toMatch(/ATTEST_SERVICENOW_PASSWORD: serviceNowPasswordReference/);
    expect(allBicep).toMatch(/ATTEST_JIRA_OAUTH_TOKEN: jiraOAuthTokenReference/);
    expect(allBicep).toMatch(/ATTEST_SERVICENOW_CLIENT_SECRET: serviceNowClientSecretReference/);
    expect(allBicep).toMatch(/'@Microsoft\.KeyVault\(SecretUri=\$\{keyVaultUri\}secrets\//);
    expect(allBicep).not.toMatch(/AccountKey=|listKeys\(|@secure\(\)/);
  });

  it('run the app on Node 22: Node 20 left support in April 2026, and Functions retires runtimes with it', () => {
    expect(read('infra/modules/function-app.bicep')).toMatch(
      /runtime: \{\s*name: 'node'\s*version: '22'\s*\}/,
    );
  });

  it('disable shared-key access to storage and connect the host with its identity', () => {
    expect(allBicep).toMatch(/allowSharedKeyAccess: false/);
    expect(allBicep).toMatch(/AzureWebJobsStorage__accountName:/);
    expect(allBicep).toMatch(/immutabilityPeriodSinceCreationInDays:/);
  });

  it('output the values the manifest and m365agents.yml read after provisioning', () => {
    const outputs = new Set(
      [...read('infra/azure.bicep').matchAll(/^output ([A-Z0-9_]+) /gm)].map((m) => m[1]),
    );
    for (const name of [
      'BOT_ID',
      'BOT_DOMAIN',
      'FUNCTION_APP_NAME',
      'FUNCTION_PRINCIPAL_ID',
      'FEDERATED_CREDENTIAL_ISSUER',
    ])
      expect(outputs).toContain(name);
    // The provision step that creates the federated credential reads the two outputs.
    expect(read('m365agents.yml')).toContain(
      'bash scripts/federated-credential.sh ${{AAD_APP_CLIENT_ID}} ${{FUNCTION_PRINCIPAL_ID}} ${{FEDERATED_CREDENTIAL_ISSUER}}',
    );
  });
});
