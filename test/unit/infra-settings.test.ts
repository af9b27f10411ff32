/**
 * Every setting Attest's config declares is accounted for in Azure: set by infra/modules/app-settings.bicep, a Key
 * Vault reference there (secrets), or named below as not set in Azure, with the reason. And every Bicep parameter
 * the Agents Toolkit feeds from the environment has its variable in env/.env.dev. The Bicep CLI cannot run here, so
 * the templates are read as text; the checks are the functions below, and the last tests show they catch a
 * setting deleted from a copy of the Bicep.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SETTINGS } from '../../src/config/config';

const root = path.resolve(__dirname, '..', '..');
const read = (relative: string): string => fs.readFileSync(path.join(root, relative), 'utf8');

/** Settings Azure never gets, and why. Everything else in SETTINGS must be in app-settings.bicep. */
const NOT_SET_IN_AZURE: Record<string, string> = {
  ATTEST_STORAGE_CONNECTION_STRING:
    'Azure uses ATTEST_STORAGE_MODE=managed-identity; shared-key access is disabled on the account',
  AZURE_CLIENT_ID:
    "would make the bot's user-assigned identity the default credential for storage and the Graph assertion",
  ATTEST_GRAPH_CLIENT_SECRET: 'Azure uses ATTEST_GRAPH_CREDENTIAL=federated: no secret exists',
  ATTEST_GRAPH_CERTIFICATE_PATH: 'Azure uses ATTEST_GRAPH_CREDENTIAL=federated: no certificate exists',
  ATTEST_BOT_APP_PASSWORD:
    'the Azure Bot runs as a user-assigned managed identity (ATTEST_BOT_AUTH=managed-identity)',
  ATTEST_HTTP_PORT: 'local host only: in Azure the Functions host serves HTTP',
  ATTEST_PLAYGROUND_PORT: 'local host only: the Agents Playground',
  ATTEST_GRAPH_SIM_PORT: 'local host only: the Graph simulator',
  ATTEST_GRAPH_SIM_LATENCY_MS: 'local host only: the Graph simulator',
  ATTEST_GRAPH_SIM_THROTTLE_RATE: 'local host only: the Graph simulator',
  ATTEST_GRAPH_SIM_UNAVAILABLE_RATE: 'local host only: the Graph simulator',
  ATTEST_GRAPH_SIM_WRITE_QUOTA: 'local host only: the Graph simulator',
  ATTEST_AZURITE_TABLE_PORT: 'local host only: embedded Azurite',
  ATTEST_AZURITE_BLOB_PORT: 'local host only: embedded Azurite',
};

/** Secrets: in Azure each is a Key Vault reference, never a value in a setting or a parameter. */
const SECRETS = [
  'ATTEST_JIRA_API_TOKEN',
  'ATTEST_JIRA_OAUTH_TOKEN',
  'ATTEST_SERVICENOW_PASSWORD',
  'ATTEST_SERVICENOW_CLIENT_SECRET',
];

/** `NAME: expression` lines of the settings objects in app-settings.bicep, by name. */
function bicepSettings(bicep: string): Map<string, string> {
  return new Map(
    [...bicep.matchAll(/^\s+([A-Z][A-Z0-9_]*(?:__[a-zA-Z]+)?):\s*(.+)$/gm)].map((m) => [m[1], m[2].trim()]),
  );
}

/** What is wrong with the settings a copy of app-settings.bicep writes, against the declared settings. */
function checkSettings(declared: readonly string[], bicep: string) {
  const set = bicepSettings(bicep);
  const isKeyVaultReference = (expression: string) =>
    /^[a-zA-Z]\w*$/.test(expression) &&
    new RegExp(`^var ${expression} = '@Microsoft\\.KeyVault\\(SecretUri=`, 'm').test(bicep);
  return {
    /** Declared, neither set nor excused. */
    missing: declared.filter((name) => !set.has(name) && !(name in NOT_SET_IN_AZURE)),
    /** Secrets set to anything but a Key Vault reference. */
    secretsInPlain: SECRETS.filter((name) => set.has(name) && !isKeyVaultReference(set.get(name)!)),
    /** Secrets not set at all. */
    secretsMissing: SECRETS.filter((name) => !set.has(name)),
    /** Excused as not set in Azure, yet set. */
    excusedButSet: Object.keys(NOT_SET_IN_AZURE).filter((name) => set.has(name)),
    /** Set, but not a setting config reads (ATTEST_*). */
    unknown: [...set.keys()].filter((name) => name.startsWith('ATTEST_') && !declared.includes(name)),
  };
}

/** A .bicep file's parameters: name, and whether it has a default. */
function bicepParams(bicep: string): Map<string, { hasDefault: boolean }> {
  return new Map(
    [...bicep.matchAll(/^param (\w+) \w+( = .+)?$/gm)].map((m) => [m[1], { hasDefault: m[2] !== undefined }]),
  );
}

/** The `params: { ... }` keys of each module call in azure.bicep, by module file. */
function moduleCalls(bicep: string): { file: string; keys: string[] }[] {
  return [...bicep.matchAll(/^module \w+ '([^']+)' = \{\n([\s\S]*?)^\}/gm)].map((m) => {
    const params = /^ {2}params: \{\n([\s\S]*?)^ {2}\}/m.exec(m[2]);
    const keys = params ? [...params[1].matchAll(/^ {4}(\w+):/gm)].map((k) => k[1]) : [];
    return { file: path.join('infra', m[1]), keys };
  });
}

/** Module parameters azure.bicep passes that the module lacks, and required ones it does not pass. */
function moduleProblems(mainBicep: string): string[] {
  return moduleCalls(mainBicep).flatMap(({ file, keys }) => {
    const params = bicepParams(read(file));
    return [
      ...keys.filter((k) => !params.has(k)).map((k) => `${file}: no parameter ${k}`),
      ...[...params]
        .filter(([name, p]) => !p.hasDefault && !keys.includes(name))
        .map(([name]) => `${file}: ${name} not passed`),
    ];
  });
}

/** Keys of a dotenv file; values may be empty (provisioning fills them). */
function envKeys(text: string): Set<string> {
  return new Set(
    text
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => line.slice(0, line.indexOf('=')).trim()),
  );
}

const declared = Object.keys(SETTINGS);
const appSettingsBicep = read('infra/modules/app-settings.bicep');
const azureBicep = read('infra/azure.bicep');

describe('the settings Azure gets (infra/modules/app-settings.bicep)', () => {
  const result = checkSettings(declared, appSettingsBicep);

  it('include every setting src/config/config.ts declares, unless it is named as not set in Azure', () => {
    expect(result.missing).toEqual([]);
  });

  it('set every secret to a Key Vault reference, never a value', () => {
    expect(result.secretsMissing).toEqual([]);
    expect(result.secretsInPlain).toEqual([]);
  });

  it('leave alone what is named as not set in Azure, and name only settings config reads', () => {
    expect(result.excusedButSet).toEqual([]);
    expect(result.unknown).toEqual([]);
    expect(Object.keys(NOT_SET_IN_AZURE).filter((name) => !declared.includes(name))).toEqual([]);
  });

  it('sign in to Graph as THE Entra app through a federated credential, with the catalog packaged', () => {
    const set = bicepSettings(appSettingsBicep);
    expect(set.get('ATTEST_GRAPH_CREDENTIAL')).toBe("'federated'");
    expect(set.get('ATTEST_GRAPH_CLIENT_ID')).toBe('graphClientId');
    expect(azureBicep).toMatch(/^ {4}graphClientId: tabClientId$/m);
    expect(set.get('ATTEST_TEAMS_CATALOG_APP_ID')).toBe('teamsCatalogAppId');
    expect(set.get('APPLICATIONINSIGHTS_CONNECTION_STRING')).toBe('appInsightsConnectionString');
    expect(azureBicep).toMatch(/^param catalogPath string = 'catalog\/catalog\.yaml'$/m);
  });
});

describe('the Bicep parameters', () => {
  const parameters = JSON.parse(read('infra/azure.parameters.json')) as {
    parameters: Record<string, { value: unknown }>;
  };
  const main = bicepParams(azureBicep);

  it('without a default are all fed by infra/azure.parameters.json, which names only real parameters', () => {
    const fed = Object.keys(parameters.parameters);
    expect([...main].filter(([name, p]) => !p.hasDefault && !fed.includes(name)).map(([n]) => n)).toEqual([]);
    expect(fed.filter((name) => !main.has(name))).toEqual([]);
  });

  it('fed from the environment name variables that env/.env.dev defines', () => {
    const defined = envKeys(read('env/.env.dev'));
    const used = [...JSON.stringify(parameters).matchAll(/\$\{\{([A-Z0-9_]+)\}\}/g)].map((m) => m[1]);
    expect(used.length).toBeGreaterThan(10);
    expect(used.filter((name) => !defined.has(name))).toEqual([]);
  });

  it("passed to each module are the module's parameters, every required one included", () => {
    const calls = moduleCalls(azureBicep);
    expect(calls.map((c) => c.file).sort()).toEqual(
      fs
        .readdirSync(path.join(root, 'infra', 'modules'))
        .map((f) => path.join('infra', 'modules', f))
        .sort(),
    );
    for (const { keys } of calls) expect(keys.length).toBeGreaterThan(0);
    expect(moduleProblems(azureBicep)).toEqual([]);
  });
});

describe('the checks themselves', () => {
  it('name a setting deleted from a copy of app-settings.bicep', () => {
    const line = /^ {2}ATTEST_MAIL_SENDER: mailSender\n/m;
    expect(appSettingsBicep).toMatch(line);
    expect(checkSettings(declared, appSettingsBicep.replace(line, '')).missing).toEqual([
      'ATTEST_MAIL_SENDER',
    ]);
  });

  it('name a secret set to a plain parameter instead of its Key Vault reference', () => {
    const copy = appSettingsBicep.replace(
      'ATTEST_JIRA_API_TOKEN: jiraTokenReference',
      'ATTEST_JIRA_API_TOKEN: jiraEmail',
    );
    expect(checkSettings(declared, copy).secretsInPlain).toEqual(['ATTEST_JIRA_API_TOKEN']);
  });

  it('name a setting added to config but to neither the Bicep nor the not-in-Azure list', () => {
    expect(checkSettings([...declared, 'ATTEST_SOMETHING_NEW'], appSettingsBicep).missing).toEqual([
      'ATTEST_SOMETHING_NEW',
    ]);
  });

  it('name a required module parameter that azure.bicep does not pass, and one the module lacks', () => {
    const dropped = azureBicep.replace(/^ {4}mailSender: mailSender\n/m, '');
    expect(moduleProblems(dropped)).toEqual(['infra/modules/app-settings.bicep: mailSender not passed']);
    const extra = azureBicep.replace(
      /^ {4}mailSender: mailSender$/m,
      '    mailSender: mailSender\n    mailSendr: mailSender',
    );
    expect(moduleProblems(extra)).toEqual(['infra/modules/app-settings.bicep: no parameter mailSendr']);
  });
});
