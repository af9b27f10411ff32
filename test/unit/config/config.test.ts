import {
  ConfigError,
  LOCAL_SIGNIN_CLIENT_ID,
  SETTINGS,
  SIMULATOR_TEAMS_CATALOG_APP_ID,
  TEAMS_CLIENT_IDS,
  describeModes,
  loadConfig,
} from '../../../src/config/config';
import { AZURE_ENV } from '../../support/azure-env';
import {
  DEMO_ATTEST_ENTRA_APP_ID,
  DEMO_TEAMS_CATALOG_APP_ID,
} from '../../../src/local/graph-sim/demo-tenant';

const AZURE_BASE = AZURE_ENV;

function errorOf(env: Record<string, string>, host: 'local' | 'azure'): ConfigError {
  try {
    loadConfig(env, host);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('the local host', () => {
  test('runs with no settings at all, every part embedded', () => {
    const config = loadConfig({}, 'local');
    expect(describeModes(config)).toEqual({
      storage: 'embedded',
      directory: 'simulator',
      tickets: 'none',
      mail: 'simulator',
      bot: 'anonymous',
      tab: 'local',
      orchestrations: 'local-replay-host',
    });
    expect(config.local).toEqual({ httpPort: 3978, playgroundPort: 56150 });
  });

  test('can be pointed at real Graph with a client secret', () => {
    const config = loadConfig(
      {
        ATTEST_DIRECTORY_MODE: 'graph',
        ATTEST_GRAPH_TENANT_ID: AZURE_BASE.ATTEST_GRAPH_TENANT_ID,
        ATTEST_GRAPH_CLIENT_ID: AZURE_BASE.ATTEST_GRAPH_CLIENT_ID,
        ATTEST_GRAPH_CLIENT_SECRET: 'a-long-secret',
        ATTEST_MAIL_MODE: 'graph',
      },
      'local',
    );
    expect(config.directory).toMatchObject({ mode: 'graph', credential: { kind: 'client-secret' } });
  });
});

describe('the Azure host', () => {
  test('accepts a complete managed-identity configuration', () => {
    const config = loadConfig(AZURE_BASE, 'azure');
    expect(config.storage).toEqual({
      mode: 'managed-identity',
      tableUrl: AZURE_BASE.ATTEST_STORAGE_TABLE_URL,
      blobUrl: undefined,
      clientId: undefined,
    });
    expect(config.bot).toMatchObject({ auth: 'managed-identity', appId: AZURE_BASE.ATTEST_BOT_APP_ID });
  });

  // Those with an Azure default (ATTEST_CATALOG_PATH: the packaged catalog/catalog.yaml) may be left out.
  const requiredInAzure = Object.keys(AZURE_BASE).filter(
    (name) => SETTINGS[name as keyof typeof SETTINGS].default?.azure === undefined,
  );

  test('defaults the catalog to the packaged catalog/catalog.yaml', () => {
    expect(requiredInAzure).not.toContain('ATTEST_CATALOG_PATH');
    const { ATTEST_CATALOG_PATH: _demo, ...env } = AZURE_BASE;
    expect(loadConfig(env, 'azure').catalogPath).toBe('catalog/catalog.yaml');
  });

  test.each(requiredInAzure)('stops with one line naming %s when it is missing', (name) => {
    const env: Record<string, string> = { ...AZURE_BASE };
    delete env[name];
    const err = errorOf(env, 'azure');
    expect(err.setting).toBe(name);
    expect(err.message).toMatch(
      new RegExp(`^config: ${name} is missing \\(needed .+\\)\\. Set it in the environment`),
    );
    expect(err.message).not.toContain('\n');
  });

  test('refuses the embedded parts that only exist on the local host', () => {
    expect(errorOf({ ...AZURE_BASE, ATTEST_STORAGE_MODE: 'embedded' }, 'azure').message).toContain(
      'only the local host can run',
    );
    expect(errorOf({ ...AZURE_BASE, ATTEST_BOT_AUTH: 'anonymous' }, 'azure').message).toContain(
      'only the local host allows',
    );
    expect(errorOf({ ...AZURE_BASE, ATTEST_DIRECTORY_MODE: 'simulator' }, 'azure').setting).toBe(
      'ATTEST_DIRECTORY_MODE',
    );
  });
});

describe('a malformed setting', () => {
  const cases: [string, string, RegExp][] = [
    ['ATTEST_STORAGE_MODE', 'azurite', /must be one of embedded, connection-string, managed-identity/],
    ['ATTEST_STORAGE_TABLE_URL', 'http://attest.table.core.windows.net', /must start with https:\/\//],
    ['ATTEST_GRAPH_TENANT_ID', 'contoso.onmicrosoft.com', /must be a GUID/],
    [
      'ATTEST_GRAPH_CREDENTIAL',
      'password',
      /must be one of federated, managed-identity, client-secret, certificate/,
    ],
    ['ATTEST_TEAMS_CATALOG_APP_ID', 'Attest', /must be a GUID/],
    ['ATTEST_ALLOWED_TENANTS', 'contoso', /comma-separated list of tenant GUIDs/],
    ['ATTEST_MAIL_SENDER', 'attest', /user principal name/],
    ['ATTEST_TASK_HUB', 'my-hub', /3 to 45 letters and digits/],
    ['ATTEST_TEAMS_APP_ID', 'attest', /must be a GUID/],
    ['ATTEST_TICKETS_MODE', 'zendesk', /must be one of none, jira, servicenow/],
  ];
  test.each(cases)('%s=%s is named with what it must be', (name, value, expected) => {
    const err = errorOf({ ...AZURE_BASE, [name]: value }, 'azure');
    expect(err.setting).toBe(name);
    expect(err.message).toMatch(expected);
    expect(err.message).toContain(SETTINGS[name as keyof typeof SETTINGS].fix);
  });

  test.each([
    ['ATTEST_HTTP_PORT', '70000'],
    ['ATTEST_HTTP_PORT', 'http'],
    ['ATTEST_GRAPH_SIM_THROTTLE_RATE', '1.5'],
    ['ATTEST_GRAPH_SIM_LATENCY_MS', '-5'],
    ['ATTEST_GRAPH_SIM_WRITE_QUOTA', 'yes'],
  ])('%s=%s stops the local host', (name, value) => {
    expect(errorOf({ [name]: value }, 'local').setting).toBe(name);
  });

  test('a secret is never echoed back', () => {
    const err = errorOf(
      {
        ...AZURE_BASE,
        ATTEST_STORAGE_MODE: 'connection-string',
        ATTEST_STORAGE_CONNECTION_STRING: 'hunter2hunter2',
      },
      'azure',
    );
    expect(err.message).toContain('(hidden)');
    expect(err.message).not.toContain('hunter2');
  });

  test('ticket settings are required together with their mode', () => {
    const jira = errorOf(
      { ...AZURE_BASE, ATTEST_TICKETS_MODE: 'jira', ATTEST_JIRA_BASE_URL: 'https://acme.atlassian.net' },
      'azure',
    );
    expect(jira.setting).toBe('ATTEST_JIRA_EMAIL');
    const snow = errorOf({ ...AZURE_BASE, ATTEST_TICKETS_MODE: 'servicenow' }, 'azure');
    expect(snow.setting).toBe('ATTEST_SERVICENOW_INSTANCE_URL');
  });
});

describe("the tab's SSO", () => {
  test('runs locally on the local issuer, with the demo auditors group and the local sign-in client', () => {
    const { tab } = loadConfig({}, 'local');
    expect(tab).toEqual({
      auth: 'local',
      clientId: 'cc242ef5-65a5-50c2-88ff-8a691f881243',
      appIdUri: 'api://localhost/cc242ef5-65a5-50c2-88ff-8a691f881243',
      allowedTenants: ['6e1d3f0a-5b2c-4d8e-9f70-a1b2c3d4e5f6'],
      allowedClients: [LOCAL_SIGNIN_CLIENT_ID],
      auditorGroupId: '8dbcb793-c142-5645-9a3f-88f3feccb7f7',
    });
  });

  test('runs in Azure on Entra tokens from the Teams clients, for the allowed tenants', () => {
    const { tab } = loadConfig(
      { ...AZURE_BASE, ATTEST_AUDITOR_GROUP_ID: AZURE_BASE.ATTEST_GRAPH_CLIENT_ID },
      'azure',
    );
    expect(tab).toEqual({
      auth: 'entra',
      clientId: AZURE_BASE.ATTEST_TAB_CLIENT_ID,
      appIdUri: AZURE_BASE.ATTEST_TAB_APP_ID_URI,
      allowedTenants: [AZURE_BASE.ATTEST_ALLOWED_TENANTS],
      allowedClients: [...TEAMS_CLIENT_IDS],
      auditorGroupId: AZURE_BASE.ATTEST_GRAPH_CLIENT_ID,
    });
    expect(TEAMS_CLIENT_IDS).toEqual([
      '1fec8e78-bce4-4aaf-ab1b-5451cc387264',
      '5e3ce6c0-2b1f-4285-8d4b-75ee78787346',
    ]);
  });

  test('configuration for Azure refuses a local issuer, saying what to set instead', () => {
    const err = errorOf({ ...AZURE_BASE, ATTEST_TAB_AUTH: 'local' }, 'azure');
    expect(err.setting).toBe('ATTEST_TAB_AUTH');
    expect(err.message).toContain('Configuration for Azure refuses a local issuer');
    expect(err.message).toContain('ATTEST_TAB_AUTH=entra');
    expect(err.message).not.toContain('\n');
  });

  test('the local host can use Entra tokens, and then needs the app registration', () => {
    const env = { ATTEST_TAB_AUTH: 'entra', ATTEST_TAB_CLIENT_ID: '', ATTEST_TAB_APP_ID_URI: '' };
    // NB. Locally the client id and URI have defaults (the local issuer's); with entra they are still used.
    expect(loadConfig(env, 'local').tab).toMatchObject({
      auth: 'entra',
      allowedClients: [...TEAMS_CLIENT_IDS],
    });
  });

  test.each([
    ['ATTEST_TAB_AUTH', 'teams', /must be one of local, entra/],
    ['ATTEST_TAB_CLIENT_ID', 'attest-tab', /must be a GUID/],
    ['ATTEST_TAB_APP_ID_URI', 'https://attest.azurewebsites.net', /must be an Application ID URI/],
    ['ATTEST_AUDITOR_GROUP_ID', 'auditors', /must be a GUID/],
  ])('%s=%s is named with what it must be', (name, value, expected) => {
    const err = errorOf({ ...AZURE_BASE, [name]: value }, 'azure');
    expect(err.setting).toBe(name);
    expect(err.message).toMatch(expected);
  });
});

describe('reaching every approver (the Teams app installed through Graph)', () => {
  test('in Azure, Graph is called through the federated credential by default, with AZURE_CLIENT_ID', () => {
    const config = loadConfig(
      { ...AZURE_BASE, AZURE_CLIENT_ID: '9a8b7c6d-0000-4000-8000-0000000000aa' },
      'azure',
    );
    expect(config.directory).toMatchObject({
      mode: 'graph',
      credential: { kind: 'federated', managedIdentityClientId: '9a8b7c6d-0000-4000-8000-0000000000aa' },
    });
    expect(config.teamsCatalogAppId).toBeUndefined();
  });

  test('installing needs Graph called as the tab app: a different ATTEST_GRAPH_CLIENT_ID names both settings', () => {
    const err = errorOf(
      { ...AZURE_BASE, ATTEST_TEAMS_CATALOG_APP_ID: '19e1e8dc-f54f-5abb-9263-eddbd26e70b2' },
      'azure',
    );
    expect(err.setting).toBe('ATTEST_GRAPH_CLIENT_ID');
    expect(err.message).toContain('ATTEST_TAB_CLIENT_ID');
    expect(err.message).toContain('webApplicationInfo.id');
    const same = loadConfig(
      {
        ...AZURE_BASE,
        ATTEST_GRAPH_CLIENT_ID: AZURE_BASE.ATTEST_TAB_CLIENT_ID.toUpperCase(),
        ATTEST_TEAMS_CATALOG_APP_ID: '19E1E8DC-F54F-5ABB-9263-EDDBD26E70B2',
      },
      'azure',
    );
    expect(same.teamsCatalogAppId).toBe('19e1e8dc-f54f-5abb-9263-eddbd26e70b2');
  });

  test('with the Graph simulator the demo tenant catalog app is installed by default, and none turns it off', () => {
    expect(loadConfig({}, 'local').teamsCatalogAppId).toBe(DEMO_TEAMS_CATALOG_APP_ID);
    expect(SIMULATOR_TEAMS_CATALOG_APP_ID).toBe(DEMO_TEAMS_CATALOG_APP_ID);
    expect(SETTINGS.ATTEST_TAB_CLIENT_ID.default?.local).toBe(DEMO_ATTEST_ENTRA_APP_ID);
    expect(loadConfig({ ATTEST_TEAMS_CATALOG_APP_ID: 'none' }, 'local').teamsCatalogAppId).toBeUndefined();
    // Against real Graph the demo id means nothing: only the admin's setting turns installation on.
    const real = loadConfig(
      {
        ATTEST_DIRECTORY_MODE: 'graph',
        ATTEST_GRAPH_TENANT_ID: AZURE_BASE.ATTEST_GRAPH_TENANT_ID,
        ATTEST_GRAPH_CLIENT_ID: AZURE_BASE.ATTEST_GRAPH_CLIENT_ID,
        ATTEST_GRAPH_CLIENT_SECRET: 'a-long-secret',
        ATTEST_MAIL_MODE: 'graph',
      },
      'local',
    );
    expect(real.teamsCatalogAppId).toBeUndefined();
  });
});
