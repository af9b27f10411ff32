/** Ticket sync settings: Jira and ServiceNow with their auth kinds, field mappings, and the local fakes. */
import { ConfigError, loadConfig } from '../../../src/config/config';
import { AZURE_ENV } from '../../support/azure-env';

const JIRA = {
  ...AZURE_ENV,
  ATTEST_TICKETS_MODE: 'jira',
  ATTEST_JIRA_BASE_URL: 'https://acme.atlassian.net',
  ATTEST_JIRA_EMAIL: 'attest@acme.example',
  ATTEST_JIRA_API_TOKEN: 'token-0123456789',
  ATTEST_JIRA_PROJECT_KEY: 'SEC',
};

const SNOW = {
  ...AZURE_ENV,
  ATTEST_TICKETS_MODE: 'servicenow',
  ATTEST_SERVICENOW_INSTANCE_URL: 'https://acme.service-now.com',
  ATTEST_SERVICENOW_USERNAME: 'attest.integration',
  ATTEST_SERVICENOW_PASSWORD: 'pw',
};

function errorOf(env: Record<string, string>, host: 'local' | 'azure' = 'azure'): ConfigError {
  try {
    loadConfig(env, host);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('Jira settings', () => {
  test('default to an API token, Task issues, the Done transition and the own project for references', () => {
    expect(loadConfig(JIRA, 'azure').tickets).toEqual({
      mode: 'jira',
      baseUrl: 'https://acme.atlassian.net',
      auth: { kind: 'token', email: 'attest@acme.example', apiToken: 'token-0123456789' },
      projectKey: 'SEC',
      issueType: 'Task',
      fields: {},
      resolveTransition: 'Done',
      allowedProjects: ['SEC'],
    });
  });

  test('take OAuth, an issue type, a field mapping, a transition and allowed projects', () => {
    const { tickets } = loadConfig(
      {
        ...JIRA,
        ATTEST_JIRA_AUTH: 'oauth',
        ATTEST_JIRA_BASE_URL: 'https://api.atlassian.com/ex/jira/11223344-a1b2-c3d4-e5f6-77889900aabb',
        ATTEST_JIRA_SITE_URL: 'https://acme.atlassian.net',
        ATTEST_JIRA_OAUTH_TOKEN: 'eyJraWQiOiJhdXRoLmF0bGFzc2lhbi5jb20',
        ATTEST_JIRA_ISSUE_TYPE: 'Service Request',
        ATTEST_JIRA_FIELDS: 'requester=customfield_10010, app=customfield_10011,expires=duedate',
        ATTEST_JIRA_RESOLVE_TRANSITION: 'Resolve Issue',
        ATTEST_JIRA_ALLOWED_PROJECTS: 'IT, SEC,CHG',
      },
      'azure',
    );
    expect(tickets).toMatchObject({
      auth: { kind: 'oauth', accessToken: 'eyJraWQiOiJhdXRoLmF0bGFzc2lhbi5jb20' },
      siteUrl: 'https://acme.atlassian.net',
      issueType: 'Service Request',
      fields: { requester: 'customfield_10010', app: 'customfield_10011', expires: 'duedate' },
      resolveTransition: 'Resolve Issue',
      allowedProjects: ['SEC', 'IT', 'CHG'],
    });
  });

  test('OAuth needs its token, and the api.atlassian.com gateway needs the site for links', () => {
    const noToken = errorOf({ ...JIRA, ATTEST_JIRA_AUTH: 'oauth' });
    expect(noToken.setting).toBe('ATTEST_JIRA_OAUTH_TOKEN');
    expect(noToken.message).toContain('needed when ATTEST_JIRA_AUTH=oauth');
    const noSite = errorOf({
      ...JIRA,
      ATTEST_JIRA_AUTH: 'oauth',
      ATTEST_JIRA_BASE_URL: 'https://api.atlassian.com/ex/jira/1122',
      ATTEST_JIRA_OAUTH_TOKEN: 'eyJraWQiOiJhdXRoLmF0bGFzc2lhbi5jb20',
    });
    expect(noSite.setting).toBe('ATTEST_JIRA_SITE_URL');
    expect(noSite.message).toContain('https://acme.atlassian.net');
    expect(errorOf({ ...JIRA, ATTEST_JIRA_AUTH: 'password' }).message).toContain(
      'must be one of token, oauth',
    );
  });

  test.each([
    ['requester', "must be name=field pairs separated by commas; 'requester' is not one"],
    [
      'owner=customfield_1',
      "must name fields from requester, app, role, expires, approver, justification; 'owner' is not one",
    ],
    [
      'requester=Custom Field',
      "must be name=field pairs separated by commas; 'requester=Custom Field' is not one",
    ],
    [
      'requester=customfield_x',
      "must map requester to a Jira field id such as customfield_10010, not 'customfield_x'",
    ],
    ['app=customfield_1,app=customfield_2', 'must map app once'],
  ])('a field mapping %j is refused saying why', (value, why) => {
    const err = errorOf({ ...JIRA, ATTEST_JIRA_FIELDS: value });
    expect(err.setting).toBe('ATTEST_JIRA_FIELDS');
    expect(err.message).toContain(why);
    expect(err.message).toContain('requester=customfield_10010,app=customfield_10011');
  });

  test('allowed projects must be project keys', () => {
    const err = errorOf({ ...JIRA, ATTEST_JIRA_ALLOWED_PROJECTS: 'SEC,it' });
    expect(err.setting).toBe('ATTEST_JIRA_ALLOWED_PROJECTS');
    expect(err.message).toContain('must list Jira project keys such as SEC,IT');
  });
});

describe('ServiceNow settings', () => {
  test('default to basic auth, sc_req_item and closed state 3', () => {
    expect(loadConfig(SNOW, 'azure').tickets).toEqual({
      mode: 'servicenow',
      instanceUrl: 'https://acme.service-now.com',
      auth: { kind: 'basic', username: 'attest.integration', password: 'pw' },
      table: 'sc_req_item',
      closedState: '3',
      fields: {},
    });
  });

  test('take OAuth client credentials, a table, a closed state and columns', () => {
    const { tickets } = loadConfig(
      {
        ...SNOW,
        ATTEST_SERVICENOW_AUTH: 'oauth',
        ATTEST_SERVICENOW_CLIENT_ID: 'c0ffee',
        ATTEST_SERVICENOW_CLIENT_SECRET: 's3cret',
        ATTEST_SERVICENOW_TABLE: 'incident',
        ATTEST_SERVICENOW_CLOSED_STATE: '7',
        ATTEST_SERVICENOW_FIELDS: 'requester=u_requester',
      },
      'azure',
    );
    expect(tickets).toMatchObject({
      auth: { kind: 'oauth', clientId: 'c0ffee', clientSecret: 's3cret' },
      table: 'incident',
      closedState: '7',
      fields: { requester: 'u_requester' },
    });
    const noSecret = errorOf({
      ...SNOW,
      ATTEST_SERVICENOW_AUTH: 'oauth',
      ATTEST_SERVICENOW_CLIENT_ID: 'c0ffee',
    });
    expect(noSecret.setting).toBe('ATTEST_SERVICENOW_CLIENT_SECRET');
  });

  test('a malformed table or state is refused', () => {
    expect(errorOf({ ...SNOW, ATTEST_SERVICENOW_TABLE: 'Requested Items' }).message).toContain(
      'must be a table name such as sc_req_item',
    );
    expect(errorOf({ ...SNOW, ATTEST_SERVICENOW_CLOSED_STATE: 'Closed Complete' }).message).toContain(
      'must be a state value such as 3',
    );
  });
});

describe('the local fakes', () => {
  test('run on the local host with no credentials', () => {
    expect(loadConfig({ ATTEST_TICKETS_MODE: 'jira-local' }, 'local').tickets).toEqual({
      mode: 'jira-local',
      projectKey: 'SEC',
      issueType: 'Task',
      fields: {},
      resolveTransition: 'Done',
      allowedProjects: ['SEC'],
    });
    expect(loadConfig({ ATTEST_TICKETS_MODE: 'servicenow-local' }, 'local').tickets).toEqual({
      mode: 'servicenow-local',
      table: 'sc_req_item',
      closedState: '3',
      fields: {},
    });
  });

  test('are refused in Azure, saying which mode to set', () => {
    const err = errorOf({ ...AZURE_ENV, ATTEST_TICKETS_MODE: 'jira-local' });
    expect(err.setting).toBe('ATTEST_TICKETS_MODE');
    expect(err.message).toContain('only the local host');
    expect(err.message).toContain('Set ATTEST_TICKETS_MODE=jira in the Function App settings');
  });
});
