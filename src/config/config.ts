/**
 * The only reader of process.env. Every setting Attest understands is declared here, validated with zod,
 * and turned into one typed, frozen object. A missing or malformed setting stops start-up with one line that
 * names the setting and says how to fix it (see {@link ConfigError}).
 */
import { Cron } from 'croner';
import { z } from 'zod';

/** Which host is loading the configuration: the defaults differ (the local host embeds everything). */
export type HostKind = 'local' | 'azure';

/** A setting that is missing or malformed; `message` is the one line a person reads. */
export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    readonly problem: string,
    readonly fix: string,
  ) {
    super(`config: ${setting} ${problem}. ${fix}`);
    this.name = 'ConfigError';
  }
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const port = z.coerce.number().int().min(0).max(65535);
const httpsUrl = z
  .string()
  .url()
  .refine((u) => u.startsWith('https://'), 'must start with https://');
const guid = z.string().regex(GUID, 'must be a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47');
const rate = z.coerce.number().min(0).max(1);
/** An e-mail address as Exchange takes it in a recipient (no display name, no angle brackets). */
const EMAIL = /^[^@\s,;<>"()]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;
const DOMAIN = /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;

/** A comma-separated setting's items, trimmed, empty ones dropped. */
function splitList(value: string): string[] {
  return value
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
}

/** Attest names a ticket field mapping may use (TicketDraft.fields). */
export const TICKET_FIELD_NAMES = [
  'requester',
  'app',
  'role',
  'expires',
  'approver',
  'justification',
] as const;

/** `name=target,name=target`: Attest field names to the ticket system's field ids, each checked. */
function fieldMapping(target: RegExp, what: string) {
  return z.string().transform((s, ctx) => {
    const out: Record<string, string> = {};
    for (const pair of s
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '')) {
      const m = /^([a-z][a-zA-Z]*)\s*=\s*(\S+)$/.exec(pair);
      if (!m) {
        ctx.addIssue({
          code: 'custom',
          message: `must be name=field pairs separated by commas; '${pair}' is not one`,
        });
        return z.NEVER;
      }
      if (!(TICKET_FIELD_NAMES as readonly string[]).includes(m[1])) {
        ctx.addIssue({
          code: 'custom',
          message: `must name fields from ${TICKET_FIELD_NAMES.join(', ')}; '${m[1]}' is not one`,
        });
        return z.NEVER;
      }
      if (!target.test(m[2])) {
        ctx.addIssue({ code: 'custom', message: `must map ${m[1]} to ${what}, not '${m[2]}'` });
        return z.NEVER;
      }
      if (m[1] in out) {
        ctx.addIssue({ code: 'custom', message: `must map ${m[1]} once` });
        return z.NEVER;
      }
      out[m[1]] = m[2];
    }
    return out;
  });
}

/** When a 6-field NCRONTAB expression (second first, UTC) fires next after `from`, or why it is not one. */
function cronRuns(schedule: string, from: Date, count: number): Date[] | string {
  const fields = schedule.trim().split(/\s+/);
  if (fields.length !== 6)
    return `has ${fields.length} fields; NCRONTAB needs 6 (second minute hour day month day-of-week)`;
  try {
    const job = new Cron(schedule, { timezone: 'UTC', paused: true });
    const runs = job.nextRuns(count, from);
    job.stop();
    return runs.length === count ? runs : 'never fires';
  } catch (err) {
    return `is not a schedule: ${(err as Error).message}`;
  }
}

/**
 * Why `expression` is not a 6-field NCRONTAB schedule that fires, or undefined when it is one: the same check
 * as the schedule settings, for other readers of schedules (the catalog's access reviews).
 */
export function ncrontabProblem(expression: string): string | undefined {
  const runs = cronRuns(expression, new Date(0), 2);
  return typeof runs === 'string' ? runs : undefined;
}

const ncrontab = z.string().superRefine((s, ctx) => {
  const runs = cronRuns(s, new Date(0), 2);
  if (typeof runs === 'string') ctx.addIssue({ code: 'custom', message: runs });
});

/**
 * The interval of a schedule: the time between its next two runs after `from` (for "older than one reconcile
 * interval"). NB. For irregular schedules this is one interval of several; the reconcile only needs a rough one.
 */
export function scheduleIntervalMs(schedule: string, from = new Date(0)): number {
  const runs = cronRuns(schedule, from, 2);
  if (typeof runs === 'string') throw new Error(`Schedule '${schedule}' ${runs}.`);
  return runs[1].getTime() - runs[0].getTime();
}

/** One declared setting: the schema for its raw string, its default per host, and how to fix it. */
interface Setting<T> {
  schema: z.ZodType<T>;
  default?: Partial<Record<HostKind, string>>;
  fix: string;
}

function setting<T>(
  schema: z.ZodType<T>,
  fix: string,
  defaults?: Partial<Record<HostKind, string>>,
): Setting<T> {
  return { schema, fix, default: defaults };
}

/** Digest intervals the every-N-minutes schedule can keep exactly (N divides an hour). */
const DIGEST_INTERVALS: readonly number[] = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60];

const ENV_FILE_HINT =
  'Set it in the environment (locally e.g. `NAME=value npm start`; in Azure, in the Function App settings)';

/** The Attest app's id in the Graph simulator's org app catalog (src/local/graph-sim/demo-tenant.ts). */
export const SIMULATOR_TEAMS_CATALOG_APP_ID = '19e1e8dc-f54f-5abb-9263-eddbd26e70b2';

/** Every environment variable Attest reads, in one place. */
export const SETTINGS = {
  ATTEST_STORAGE_MODE: setting(
    z.enum(['embedded', 'connection-string', 'managed-identity']),
    `${ENV_FILE_HINT} to embedded (Azurite, local only), connection-string or managed-identity`,
    { local: 'embedded' },
  ),
  ATTEST_STORAGE_CONNECTION_STRING: setting(
    z
      .string()
      .regex(
        /(^UseDevelopmentStorage=true$)|(AccountName=|TableEndpoint=)/,
        'must be an Azure Storage connection string',
      ),
    `${ENV_FILE_HINT} to the storage account's connection string (Access keys blade), or use ATTEST_STORAGE_MODE=managed-identity`,
  ),
  ATTEST_STORAGE_TABLE_URL: setting(
    httpsUrl,
    `${ENV_FILE_HINT} to the table endpoint, e.g. https://<account>.table.core.windows.net`,
  ),
  ATTEST_STORAGE_BLOB_URL: setting(
    httpsUrl,
    `${ENV_FILE_HINT} to the blob endpoint, e.g. https://<account>.blob.core.windows.net`,
  ),
  AZURE_CLIENT_ID: setting(
    guid,
    `${ENV_FILE_HINT} to the client id of the user-assigned managed identity, or remove it`,
  ),
  ATTEST_DIRECTORY_MODE: setting(
    z.enum(['simulator', 'graph']),
    `${ENV_FILE_HINT} to simulator (local Graph simulator) or graph (Microsoft Graph)`,
    { local: 'simulator' },
  ),
  ATTEST_GRAPH_TENANT_ID: setting(
    guid,
    `${ENV_FILE_HINT} to your Entra tenant id (Entra admin centre > Overview)`,
  ),
  ATTEST_GRAPH_CLIENT_ID: setting(guid, `${ENV_FILE_HINT} to the app registration's Application (client) id`),
  ATTEST_GRAPH_CREDENTIAL: setting(
    z.enum(['federated', 'managed-identity', 'client-secret', 'certificate']),
    `${ENV_FILE_HINT} to federated (the Function App's managed identity signs in as the Entra app ATTEST_GRAPH_CLIENT_ID through a federated credential: no secret), managed-identity, client-secret or certificate`,
    { azure: 'federated', local: 'client-secret' },
  ),
  ATTEST_GRAPH_CLIENT_SECRET: setting(
    z.string().min(8, 'is too short to be a client secret'),
    `${ENV_FILE_HINT} to a client secret of the app registration (Certificates & secrets); in Azure prefer a Key Vault reference`,
  ),
  ATTEST_GRAPH_CERTIFICATE_PATH: setting(
    z.string().min(1),
    `${ENV_FILE_HINT} to the path of a PEM file holding the certificate and its private key`,
  ),
  ATTEST_TICKETS_MODE: setting(
    z.enum(['none', 'jira', 'servicenow', 'jira-local', 'servicenow-local']),
    `${ENV_FILE_HINT} to none, jira or servicenow (jira-local or servicenow-local run a local fake, local host only)`,
    { local: 'none', azure: 'none' },
  ),
  ATTEST_JIRA_BASE_URL: setting(
    httpsUrl,
    `${ENV_FILE_HINT} to your Jira site, e.g. https://acme.atlassian.net (with ATTEST_JIRA_AUTH=oauth: https://api.atlassian.com/ex/jira/<cloudId>)`,
  ),
  ATTEST_JIRA_SITE_URL: setting(
    httpsUrl,
    `${ENV_FILE_HINT} to the Jira site people open, e.g. https://acme.atlassian.net (for ticket links; needed with ATTEST_JIRA_AUTH=oauth, whose ATTEST_JIRA_BASE_URL is https://api.atlassian.com/ex/jira/<cloudId>)`,
  ),
  ATTEST_JIRA_AUTH: setting(
    z.enum(['token', 'oauth']),
    `${ENV_FILE_HINT} to token (e-mail and API token, Basic) or oauth (an OAuth 2.0 access token, Bearer)`,
    { local: 'token', azure: 'token' },
  ),
  ATTEST_JIRA_EMAIL: setting(z.string().email(), `${ENV_FILE_HINT} to the Jira account's e-mail address`),
  ATTEST_JIRA_API_TOKEN: setting(
    z.string().min(8, 'is too short to be an API token'),
    `${ENV_FILE_HINT} to a Jira API token (id.atlassian.com, Security, API tokens); in Azure a Key Vault reference`,
  ),
  ATTEST_JIRA_OAUTH_TOKEN: setting(
    z.string().min(16, 'is too short to be an OAuth access token'),
    `${ENV_FILE_HINT} to an OAuth 2.0 access token for the Jira site (scopes read:jira-work write:jira-work); in Azure a Key Vault reference`,
  ),
  ATTEST_JIRA_PROJECT_KEY: setting(
    z.string().regex(/^[A-Z][A-Z0-9_]+$/, 'must be a Jira project key such as SEC'),
    `${ENV_FILE_HINT} to the key of the project tickets are created in, e.g. SEC`,
  ),
  ATTEST_JIRA_ISSUE_TYPE: setting(
    z.string().trim().min(1).max(255),
    `${ENV_FILE_HINT} to the issue type tickets are created as, e.g. Task or Service Request`,
    { local: 'Task', azure: 'Task' },
  ),
  ATTEST_JIRA_FIELDS: setting(
    fieldMapping(
      /^(customfield_\d+|(?!customfield)[a-z][A-Za-z0-9]*)$/,
      'a Jira field id such as customfield_10010',
    ),
    `${ENV_FILE_HINT} to Attest names and Jira field ids, e.g. requester=customfield_10010,app=customfield_10011 (Jira: Settings, Issues, Custom fields, the id in the field's URL)`,
  ),
  ATTEST_JIRA_RESOLVE_TRANSITION: setting(
    z.string().trim().min(1).max(255),
    `${ENV_FILE_HINT} to the name of the workflow transition that closes a ticket, e.g. Done`,
    { local: 'Done', azure: 'Done' },
  ),
  ATTEST_JIRA_ALLOWED_PROJECTS: setting(
    z
      .string()
      .transform((s) =>
        s
          .split(',')
          .map((p) => p.trim())
          .filter((p) => p !== ''),
      )
      .pipe(z.array(z.string().regex(/^[A-Z][A-Z0-9_]+$/, 'must list Jira project keys such as SEC,IT'))),
    `${ENV_FILE_HINT} to the project keys whose tickets a requester may reference, comma-separated, e.g. SEC,IT`,
  ),
  ATTEST_SERVICENOW_INSTANCE_URL: setting(
    httpsUrl,
    `${ENV_FILE_HINT} to your instance, e.g. https://acme.service-now.com`,
  ),
  ATTEST_SERVICENOW_TABLE: setting(
    z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be a table name such as sc_req_item'),
    `${ENV_FILE_HINT} to the table tickets are created in, e.g. sc_req_item or incident`,
    { local: 'sc_req_item', azure: 'sc_req_item' },
  ),
  ATTEST_SERVICENOW_AUTH: setting(
    z.enum(['basic', 'oauth']),
    `${ENV_FILE_HINT} to basic (user and password) or oauth (client credentials from the instance's /oauth_token.do)`,
    { local: 'basic', azure: 'basic' },
  ),
  ATTEST_SERVICENOW_USERNAME: setting(
    z.string().min(1),
    `${ENV_FILE_HINT} to the ServiceNow integration user`,
  ),
  ATTEST_SERVICENOW_PASSWORD: setting(
    z.string().min(1),
    `${ENV_FILE_HINT} to that user's password (Key Vault reference in Azure)`,
  ),
  ATTEST_SERVICENOW_CLIENT_ID: setting(
    z.string().min(1),
    `${ENV_FILE_HINT} to the client id of the OAuth application (System OAuth, Application Registry)`,
  ),
  ATTEST_SERVICENOW_CLIENT_SECRET: setting(
    z.string().min(1),
    `${ENV_FILE_HINT} to that OAuth application's client secret (Key Vault reference in Azure)`,
  ),
  ATTEST_SERVICENOW_CLOSED_STATE: setting(
    z.string().regex(/^-?\d+$|^[a-z_]+$/, 'must be a state value such as 3'),
    `${ENV_FILE_HINT} to the value of the table's closed state (sc_req_item: 3, Closed Complete)`,
    { local: '3', azure: '3' },
  ),
  ATTEST_SERVICENOW_FIELDS: setting(
    fieldMapping(/^[a-z][a-z0-9_]*$/, 'a ServiceNow column such as u_requester'),
    `${ENV_FILE_HINT} to Attest names and columns of the table, e.g. requester=u_requester,app=u_application`,
  ),
  ATTEST_MAIL_MODE: setting(
    z.enum(['simulator', 'graph']),
    `${ENV_FILE_HINT} to simulator (mail kept under the data folder) or graph (Graph sendMail)`,
    { local: 'simulator', azure: 'graph' },
  ),
  ATTEST_MAIL_SENDER: setting(
    z
      .string()
      .regex(
        /^[^@\s]+@[^@\s]+$/,
        'must be the user principal name of the mailbox that sends, e.g. attest@contoso.com',
      ),
    `${ENV_FILE_HINT} to the mailbox Attest sends evidence from`,
    { local: 'attest@contoso.example' },
  ),
  ATTEST_BOT_AUTH: setting(
    z.enum(['anonymous', 'managed-identity', 'client-secret']),
    `${ENV_FILE_HINT} to managed-identity or client-secret (anonymous is for the local host only)`,
    { local: 'anonymous', azure: 'managed-identity' },
  ),
  ATTEST_BOT_APP_ID: setting(guid, `${ENV_FILE_HINT} to the Azure Bot's Microsoft App ID`),
  ATTEST_BOT_APP_PASSWORD: setting(
    z.string().min(8, 'is too short to be a client secret'),
    `${ENV_FILE_HINT} to the bot's client secret`,
  ),
  ATTEST_BOT_TENANT_ID: setting(guid, `${ENV_FILE_HINT} to the tenant the bot's app registration lives in`),
  ATTEST_ALLOWED_TENANTS: setting(
    z
      .string()
      .refine(
        (s) => s.split(',').every((t) => GUID.test(t.trim())),
        'must be a comma-separated list of tenant GUIDs',
      ),
    `${ENV_FILE_HINT} to the tenant ids whose users may use Attest, separated by commas`,
    { local: '6e1d3f0a-5b2c-4d8e-9f70-a1b2c3d4e5f6' },
  ),
  ATTEST_TASK_HUB: setting(
    z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9]{2,44}$/, 'must be 3 to 45 letters and digits, starting with a letter'),
    `${ENV_FILE_HINT} to a task hub name such as AttestHub`,
    { local: 'AttestHub', azure: 'AttestHub' },
  ),
  ATTEST_CATALOG_PATH: setting(
    z.string().min(1),
    `${ENV_FILE_HINT} to the path of the access catalog YAML file (format: docs/catalog.md); in Azure a relative path is resolved against the app root, where \`npm run package\` puts the catalog at catalog/catalog.yaml`,
    { local: 'catalog/demo-catalog.yaml', azure: 'catalog/catalog.yaml' },
  ),
  ATTEST_ADMIN_GROUP_ID: setting(
    guid,
    `${ENV_FILE_HINT} to the object id of the Entra group whose members administer Attest (may revoke any access)`,
    { local: '1e96db6f-d33f-5609-8c1d-e7eeee64ae7c' },
  ),
  ATTEST_AUDITOR_GROUP_ID: setting(
    guid,
    `${ENV_FILE_HINT} to the object id of the Entra group whose members see every review, campaign and audit trail in the tab, read-only, or leave it unset`,
    { local: '8dbcb793-c142-5645-9a3f-88f3feccb7f7' },
  ),
  ATTEST_TAB_AUTH: setting(
    z.enum(['local', 'entra']),
    `${ENV_FILE_HINT} to entra (Teams SSO tokens from Microsoft Entra ID) or local (the local host's own sign-in page, local only)`,
    { local: 'local', azure: 'entra' },
  ),
  ATTEST_TAB_CLIENT_ID: setting(
    guid,
    `${ENV_FILE_HINT} to the Application (client) id of the tab's Entra app registration (AAD_APP_CLIENT_ID in env/.env.<env>)`,
    { local: 'cc242ef5-65a5-50c2-88ff-8a691f881243' },
  ),
  ATTEST_TAB_APP_ID_URI: setting(
    z
      .string()
      .regex(
        /^api:\/\/[^\s/]+(\/[^\s/]+)*$/,
        'must be an Application ID URI such as api://attest.azurewebsites.net/<client id>',
      ),
    `${ENV_FILE_HINT} to the tab app registration's Application ID URI (Expose an API), api://<BOT_DOMAIN>/<client id>`,
    { local: 'api://localhost/cc242ef5-65a5-50c2-88ff-8a691f881243' },
  ),
  ATTEST_APPROVERS_CHANNEL_ID: setting(
    z
      .string()
      .regex(
        /^19:[^\s]+@thread\.(tacv2|skype)$/,
        'must be a Teams channel id such as 19:abc123@thread.tacv2 (in Teams: the channel\'s "Get link", the part after /channel/, URL-decoded)',
      ),
    `${ENV_FILE_HINT} to the Teams channel that also receives every approval card, or leave it unset`,
  ),
  ATTEST_TEAMS_APP_ID: setting(
    guid,
    `${ENV_FILE_HINT} to the Teams app id (the manifest's "id", TEAMS_APP_ID in m365agents.yml), so cards and e-mails link to the Access reviews tab; unset, the bot's app id is used`,
  ),
  ATTEST_TEAMS_CATALOG_APP_ID: setting(
    z.union([guid, z.literal('none')]),
    `${ENV_FILE_HINT} to the Attest app's id in your org app catalog (Graph teamsApp.id; TEAMS_APP_PUBLISHED_APP_ID after \`atk publish\`, or Teams admin centre > Manage apps > Attest > App ID), so Attest installs the app for approvers and reviewers who never opened it; unset or none, they are escalated past (reviewers e-mailed). With the Graph simulator it defaults to the demo tenant's catalog app`,
  ),
  ATTEST_HTTP_PORT: setting(
    port,
    `${ENV_FILE_HINT} to a free TCP port (default 3978, the port the Playground calls)`,
    { local: '3978' },
  ),
  ATTEST_PLAYGROUND_PORT: setting(port, `${ENV_FILE_HINT} to a free TCP port (default 56150)`, {
    local: '56150',
  }),
  ATTEST_GRAPH_SIM_PORT: setting(
    port,
    `${ENV_FILE_HINT} to a free TCP port for the Graph simulator (default 5780)`,
    { local: '5780' },
  ),
  ATTEST_AZURITE_TABLE_PORT: setting(
    port,
    `${ENV_FILE_HINT} to a free TCP port for Azurite's table service (default 10002)`,
    { local: '10002' },
  ),
  ATTEST_AZURITE_BLOB_PORT: setting(
    port,
    `${ENV_FILE_HINT} to a free TCP port for Azurite's blob service (default 10000)`,
    { local: '10000' },
  ),
  ATTEST_GRAPH_SIM_LATENCY_MS: setting(
    z.coerce.number().int().min(0).max(60000),
    `${ENV_FILE_HINT} to milliseconds of added latency, 0 to 60000`,
    { local: '0' },
  ),
  ATTEST_GRAPH_SIM_THROTTLE_RATE: setting(
    rate,
    `${ENV_FILE_HINT} to the share of requests answered 429, from 0 to 1`,
    { local: '0' },
  ),
  ATTEST_GRAPH_SIM_UNAVAILABLE_RATE: setting(
    rate,
    `${ENV_FILE_HINT} to the share of requests answered 503, from 0 to 1`,
    { local: '0' },
  ),
  ATTEST_GRAPH_SIM_WRITE_QUOTA: setting(
    z.enum(['off', 'on']),
    `${ENV_FILE_HINT} to on (Graph's 3,000 writes per 150 s per app and tenant) or off`,
    { local: 'off' },
  ),
  ATTEST_RECONCILE_SCHEDULE: setting(
    ncrontab,
    `${ENV_FILE_HINT} to a 6-field NCRONTAB schedule (second minute hour day month day-of-week, UTC) such as '0 */15 * * * *' (every 15 minutes, the default)`,
    { local: '0 */15 * * * *', azure: '0 */15 * * * *' },
  ),
  ATTEST_OFFBOARDING_SCHEDULE: setting(
    ncrontab,
    `${ENV_FILE_HINT} to a 6-field NCRONTAB schedule (second minute hour day month day-of-week, UTC) such as '0 */15 * * * *' (every 15 minutes, the default)`,
    { local: '0 */15 * * * *', azure: '0 */15 * * * *' },
  ),
  ATTEST_TICKETS_SYNC_SCHEDULE: setting(
    ncrontab,
    `${ENV_FILE_HINT} to a 6-field NCRONTAB schedule (UTC) for the ticket-sync drain such as '0 * * * * *' (every minute, the default); a tick while a drain runs is skipped`,
    { local: '0 * * * * *', azure: '0 * * * * *' },
  ),
  ATTEST_TICKETS_MAX_ATTEMPTS: setting(
    z.coerce.number().int().min(1, 'must be at least 1').max(100, 'must be at most 100'),
    `${ENV_FILE_HINT} to how many times a ticket update is tried against an unavailable ticket system before it is parked for an admin (1-100, default 8; attempts back off from 1 minute to an hour)`,
    { local: '8', azure: '8' },
  ),
  ATTEST_TICKETS_SEARCH_LAG_MS: setting(
    z.coerce.number().int().min(0).max(600_000, 'must be at most 600000 (10 minutes)'),
    `${ENV_FILE_HINT} to how long (ms) ticket sync waits to search again for a ticket it may have created before a crash, when the first search finds nothing (Jira's search lags; default 10000)`,
    { local: '10000', azure: '10000' },
  ),
  ATTEST_EVIDENCE_MAIL_SCHEDULE: setting(
    ncrontab,
    `${ENV_FILE_HINT} to a 6-field NCRONTAB schedule (second minute hour day month day-of-week, UTC) such as '0 0 7 * * 1' (Mondays 07:00, the default); each mail covers the time since the schedule's previous occurrence`,
    { local: '0 0 7 * * 1', azure: '0 0 7 * * 1' },
  ),
  ATTEST_EVIDENCE_MAIL_TO: setting(
    z.string().superRefine((s, ctx) => {
      const bad = splitList(s).filter((a) => !EMAIL.test(a));
      if (bad.length)
        ctx.addIssue({ code: 'custom', message: `is not a list of e-mail addresses (${bad.join(', ')})` });
    }),
    `${ENV_FILE_HINT} to the addresses that receive the weekly evidence e-mail, separated by commas (e.g. security@contoso.com), or leave it unset to send none`,
    { local: 'security-team@contoso.example' },
  ),
  ATTEST_EVIDENCE_MAIL_ALLOWED_DOMAINS: setting(
    z.string().superRefine((s, ctx) => {
      const bad = splitList(s).filter((d) => !DOMAIN.test(d));
      if (bad.length)
        ctx.addIssue({ code: 'custom', message: `is not a list of domains (${bad.join(', ')})` });
    }),
    `${ENV_FILE_HINT} to the mail domains evidence may be sent to, separated by commas (default: the domain of ATTEST_MAIL_SENDER)`,
  ),
  ATTEST_EVIDENCE_MAIL_ATTEMPTS: setting(
    z.coerce.number().int().min(1).max(20),
    `${ENV_FILE_HINT} to how many times a failed evidence e-mail is tried before Attest admins are told, 1 to 20 (default 5)`,
    { local: '5', azure: '5' },
  ),
  ATTEST_EVIDENCE_MAIL_LINK_DAYS: setting(
    z.coerce.number().int().min(1).max(7),
    `${ENV_FILE_HINT} to how many days the link to a bundle too large to attach stays valid, 1 to 7 (a user delegation SAS lasts at most 7 days; default 7)`,
    { local: '7', azure: '7' },
  ),
  ATTEST_EVIDENCE_CONTAINER: setting(
    z
      .string()
      .regex(
        /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/,
        'must be a blob container name: 3-63 lower-case letters, digits and single hyphens',
      ),
    `${ENV_FILE_HINT} to the blob container that anchors the audit digests and keeps evidence bundles (in Azure the one infra/ creates with a locked immutability policy), e.g. attest-evidence (the default)`,
    { local: 'attest-evidence', azure: 'attest-evidence' },
  ),
  ATTEST_DIGEST_INTERVAL_MINUTES: setting(
    z.coerce
      .number()
      .int()
      .refine((n) => DIGEST_INTERVALS.includes(n), `must divide an hour: ${DIGEST_INTERVALS.join(', ')}`),
    `${ENV_FILE_HINT} to the minutes between audit digests when anything changed (they also run daily regardless), one of ${'1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60'}; 15 is the default. It bounds how long a cut-off tail of the log can go unseen`,
    { local: '15', azure: '15' },
  ),
  APPLICATIONINSIGHTS_CONNECTION_STRING: setting(
    z
      .string()
      .regex(
        /InstrumentationKey=/,
        'must be an Application Insights connection string (InstrumentationKey=...)',
      ),
    `${ENV_FILE_HINT} to the Application Insights connection string (Overview blade; infra/ sets it), or remove it to send no telemetry`,
  ),
} as const;

export type SettingName = keyof typeof SETTINGS;

/** Storage: Azurite embedded by the local host, a connection string, or an account URL with managed identity. */
export type StorageConfig =
  | { mode: 'embedded'; tablePort: number; blobPort: number }
  | { mode: 'connection-string'; connectionString: string }
  | { mode: 'managed-identity'; tableUrl: string; blobUrl?: string; clientId?: string };

/** Directory: the local Graph simulator or Microsoft Graph with @azure/identity credentials. */
export type DirectoryConfig =
  | {
      mode: 'simulator';
      port: number;
      latencyMs: number;
      throttleRate: number;
      unavailableRate: number;
      writeQuota: boolean;
    }
  | {
      mode: 'graph';
      tenantId: string;
      clientId: string;
      credential:
        /** The managed identity (AZURE_CLIENT_ID when user-assigned) signs an assertion for the Entra app. */
        | { kind: 'federated'; managedIdentityClientId?: string }
        | { kind: 'managed-identity'; clientId?: string }
        | { kind: 'client-secret'; secret: string }
        | { kind: 'certificate'; certificatePath: string };
    };

/** Jira Cloud: where, how to sign in, and what tickets look like. */
export interface JiraTicketsConfig {
  mode: 'jira';
  /** REST base (https://acme.atlassian.net, or https://api.atlassian.com/ex/jira/<cloudId> with OAuth; the fake's URL under jira-local). */
  baseUrl: string;
  /** The site for links people open (/browse/KEY); absent: baseUrl. */
  siteUrl?: string;
  auth: { kind: 'token'; email: string; apiToken: string } | { kind: 'oauth'; accessToken: string };
  projectKey: string;
  issueType: string;
  /** Attest field name (requester, app, ...) to Jira field id (customfield_10010). */
  fields: Record<string, string>;
  /** The workflow transition that resolves a ticket, by name. */
  resolveTransition: string;
  /** Projects whose tickets a requester's ticketReference may name (the project key is always allowed). */
  allowedProjects: string[];
}

/** ServiceNow: instance, table, sign-in, closed state. */
export interface ServiceNowTicketsConfig {
  mode: 'servicenow';
  instanceUrl: string;
  table: string;
  auth:
    | { kind: 'basic'; username: string; password: string }
    | { kind: 'oauth'; clientId: string; clientSecret: string };
  /** The `state` value that closes a record (sc_req_item: 3). */
  closedState: string;
  /** Attest field name to column (u_requester). */
  fields: Record<string, string>;
}

/**
 * Ticket sync target. `jira-local` and `servicenow-local` (local host only) carry the ticket settings; the local
 * host starts the fake and turns them into a `jira` or `servicenow` config pointing at it.
 */
export type TicketsConfig =
  | { mode: 'none' }
  | JiraTicketsConfig
  | ServiceNowTicketsConfig
  | ({ mode: 'jira-local' } & Omit<JiraTicketsConfig, 'mode' | 'baseUrl' | 'siteUrl' | 'auth'>)
  | ({ mode: 'servicenow-local' } & Omit<ServiceNowTicketsConfig, 'mode' | 'instanceUrl' | 'auth'>);

/** Where evidence mail goes: kept by the simulator, or sent through Graph sendMail. */
export type MailConfig = { mode: 'simulator' | 'graph'; sender: string };

/** How /api/messages authenticates the Bot Framework. */
export type BotConfig =
  | { auth: 'anonymous'; allowedTenants: string[] }
  | { auth: 'managed-identity'; appId: string; tenantId: string; allowedTenants: string[] }
  | { auth: 'client-secret'; appId: string; password: string; tenantId: string; allowedTenants: string[] };

/**
 * The Teams clients Entra issues tab SSO tokens to (the token's `azp`): Teams desktop and mobile, and Teams on
 * the web. They are the clients the tab app registration pre-authorises for `access_as_user`.
 */
export const TEAMS_CLIENT_IDS: readonly string[] = [
  '1fec8e78-bce4-4aaf-ab1b-5451cc387264',
  '5e3ce6c0-2b1f-4285-8d4b-75ee78787346',
];

/** The client id the local host's sign-in page puts in `azp` of the tokens it issues (local mode only). */
export const LOCAL_SIGNIN_CLIENT_ID = '135ad798-bbe3-553d-a7a0-19c4097eb7d5';

/** How the tab's API authenticates callers: Teams SSO tokens, or the local host's own issuer. */
export interface TabAuthConfig {
  auth: 'entra' | 'local';
  /** The tab app registration's client id; a token's `aud` may be it or {@link appIdUri}. */
  clientId: string;
  appIdUri: string;
  /** Tenants whose tokens are accepted (ATTEST_ALLOWED_TENANTS, lowercase). */
  allowedTenants: string[];
  /** Clients allowed as `azp`: the Teams clients, or the local sign-in page. */
  allowedClients: string[];
  /** Members see everything read-only in the tab. */
  auditorGroupId?: string;
}

/** The whole validated configuration. */
export interface AttestConfig {
  host: HostKind;
  storage: StorageConfig;
  directory: DirectoryConfig;
  tickets: TicketsConfig;
  mail: MailConfig;
  bot: BotConfig;
  taskHub: string;
  /** The access catalog file and the Attest admins group. */
  catalogPath: string;
  adminGroupId?: string;
  /** The tab's SSO: who may call its API and how tokens are checked. */
  tab: TabAuthConfig;
  /** A Teams channel that receives a copy of every approval card (the app must be added to its team). */
  approversChannelId?: string;
  /** The Teams app id (the manifest's id), for deep links to the Access reviews tab; absent: the bot's app id. */
  teamsAppId?: string;
  /**
   * The Teams app's id in the org app catalog: set, Attest installs the app for approvers and reviewers it cannot
   * reach (TeamsAppInstallation.ReadWriteSelfForUser.All); absent, they are escalated past as before.
   */
  teamsCatalogAppId?: string;
  local: { httpPort: number; playgroundPort: number };
  /** The membership reconcile: its NCRONTAB schedule and the interval between runs. */
  reconcile: { schedule: string; intervalMs: number };
  /** The offboarding sweep (users disabled or deleted in Entra lose their access): schedule and interval. */
  offboarding: { schedule: string; intervalMs: number };
  /** The ticket-sync drain (when tickets are on): its schedule, attempts before parking, the search-again delay. */
  ticketSync: { schedule: string; maxAttempts: number; searchLagMs: number };
  /** The weekly evidence e-mail (see {@link EvidenceMailConfig}). */
  evidenceMail: EvidenceMailConfig;
  /**
   * The audit log's anchors: the blob container of digest anchors and evidence bundles, and the digest
   * interval (minutes) with its NCRONTAB schedule.
   */
  evidence: { container: string; digestIntervalMinutes: number; digestSchedule: string };
  /**
   * Telemetry: with a connection string, spans, metrics and logs go to Application Insights through
   * @azure/monitor-opentelemetry (Azure host only; the local host writes JSON lines and exports nothing).
   * `clientId`: the user-assigned identity that signs in to ingestion (AZURE_CLIENT_ID), else the system one.
   */
  telemetry: { connectionString?: string; clientId?: string };
}

/**
 * The scheduled evidence e-mail: when it goes, to whom, and how hard a failed send is tried. `recipients` empty
 * means no evidence e-mail is sent. Every recipient is in `allowedDomains` (checked at load, and again before
 * each send).
 */
export interface EvidenceMailConfig {
  schedule: string;
  /** Lower-case addresses, each once. */
  recipients: string[];
  /** Lower-case domains the evidence may go to. */
  allowedDomains: string[];
  /** Tries of a send before Attest admins are told (the first included). */
  attempts: number;
  /** How long the link to a bundle too large to attach stays valid. */
  linkValidMs: number;
}

type Env = Record<string, string | undefined>;

/** Reads settings from an environment with the host's defaults; each read validates and names the setting. */
class Reader {
  constructor(
    private readonly env: Env,
    private readonly host: HostKind,
  ) {}

  /** The raw value, or the host's default, or undefined. */
  private raw(name: SettingName): string | undefined {
    const value = this.env[name];
    if (value !== undefined && value.trim() !== '') return value.trim();
    return SETTINGS[name].default?.[this.host];
  }

  optional<N extends SettingName>(name: N): z.infer<(typeof SETTINGS)[N]['schema']> | undefined {
    const raw = this.raw(name);
    if (raw === undefined) return undefined;
    const def = SETTINGS[name];
    const parsed = def.schema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const shown = /SECRET|PASSWORD|TOKEN|CONNECTION_STRING/.test(name) ? '(hidden)' : JSON.stringify(raw);
      const why =
        issue.code === 'invalid_value' && 'values' in issue
          ? `must be one of ${(issue.values as unknown[]).join(', ')}`
          : issue.message.startsWith('must') || issue.message.startsWith('is ')
            ? issue.message
            : /^Invalid/.test(issue.message)
              ? 'is not valid'
              : `is not valid (${issue.message.toLowerCase()})`;
      throw new ConfigError(name, `is ${shown}, which ${why}`, def.fix);
    }
    return parsed.data as z.infer<(typeof SETTINGS)[N]['schema']>;
  }

  required<N extends SettingName>(name: N, because: string): z.infer<(typeof SETTINGS)[N]['schema']> {
    const value = this.optional(name);
    if (value === undefined)
      throw new ConfigError(name, `is missing (needed ${because})`, SETTINGS[name].fix);
    return value;
  }
}

/**
 * Validates the environment and returns the configuration, or throws a {@link ConfigError} naming the first
 * setting that is missing or malformed.
 */
export function loadConfig(env: Env, host: HostKind): AttestConfig {
  const r = new Reader(env, host);

  const storageMode = r.required('ATTEST_STORAGE_MODE', 'to know where Attest keeps its tables');
  let storage: StorageConfig;
  if (storageMode === 'embedded') {
    if (host !== 'local') {
      throw new ConfigError(
        'ATTEST_STORAGE_MODE',
        'is "embedded", which only the local host can run',
        SETTINGS.ATTEST_STORAGE_MODE.fix,
      );
    }
    storage = {
      mode: 'embedded',
      tablePort: r.required('ATTEST_AZURITE_TABLE_PORT', 'for embedded Azurite'),
      blobPort: r.required('ATTEST_AZURITE_BLOB_PORT', 'for embedded Azurite'),
    };
  } else if (storageMode === 'connection-string') {
    storage = {
      mode: 'connection-string',
      connectionString: r.required(
        'ATTEST_STORAGE_CONNECTION_STRING',
        'when ATTEST_STORAGE_MODE=connection-string',
      ),
    };
  } else {
    storage = {
      mode: 'managed-identity',
      tableUrl: r.required('ATTEST_STORAGE_TABLE_URL', 'when ATTEST_STORAGE_MODE=managed-identity'),
      blobUrl: r.optional('ATTEST_STORAGE_BLOB_URL'),
      clientId: r.optional('AZURE_CLIENT_ID'),
    };
  }

  const directoryMode = r.required(
    'ATTEST_DIRECTORY_MODE',
    'to know where the directory (Microsoft Graph) is',
  );
  let directory: DirectoryConfig;
  if (directoryMode === 'simulator') {
    if (host !== 'local') {
      throw new ConfigError(
        'ATTEST_DIRECTORY_MODE',
        'is "simulator", which only the local host can run',
        'Set ATTEST_DIRECTORY_MODE=graph in the Function App settings',
      );
    }
    directory = {
      mode: 'simulator',
      port: r.optional('ATTEST_GRAPH_SIM_PORT') ?? 0,
      latencyMs: r.optional('ATTEST_GRAPH_SIM_LATENCY_MS') ?? 0,
      throttleRate: r.optional('ATTEST_GRAPH_SIM_THROTTLE_RATE') ?? 0,
      unavailableRate: r.optional('ATTEST_GRAPH_SIM_UNAVAILABLE_RATE') ?? 0,
      writeQuota: (r.optional('ATTEST_GRAPH_SIM_WRITE_QUOTA') ?? 'off') === 'on',
    };
  } else {
    const because = 'when ATTEST_DIRECTORY_MODE=graph';
    const tenantId = r.required('ATTEST_GRAPH_TENANT_ID', because);
    const clientId = r.required('ATTEST_GRAPH_CLIENT_ID', because);
    const kind = r.required('ATTEST_GRAPH_CREDENTIAL', because);
    const credential: Extract<DirectoryConfig, { mode: 'graph' }>['credential'] =
      kind === 'federated'
        ? { kind, managedIdentityClientId: r.optional('AZURE_CLIENT_ID') }
        : kind === 'managed-identity'
          ? { kind, clientId: r.optional('AZURE_CLIENT_ID') }
          : kind === 'client-secret'
            ? {
                kind,
                secret: r.required(
                  'ATTEST_GRAPH_CLIENT_SECRET',
                  'when ATTEST_GRAPH_CREDENTIAL=client-secret',
                ),
              }
            : {
                kind,
                certificatePath: r.required(
                  'ATTEST_GRAPH_CERTIFICATE_PATH',
                  'when ATTEST_GRAPH_CREDENTIAL=certificate',
                ),
              };
    directory = { mode: 'graph', tenantId, clientId, credential };
  }

  const ticketsMode = r.required('ATTEST_TICKETS_MODE', 'to know where tickets are synced');
  const tickets = ticketsConfig(r, ticketsMode, host);

  const mailMode = r.required('ATTEST_MAIL_MODE', 'to know how evidence mail is sent');
  if (mailMode === 'simulator' && directory.mode !== 'simulator') {
    throw new ConfigError(
      'ATTEST_MAIL_MODE',
      'is "simulator" but ATTEST_DIRECTORY_MODE is "graph"',
      'Set ATTEST_MAIL_MODE=graph to send through Microsoft Graph',
    );
  }
  const mail: MailConfig = {
    mode: mailMode,
    sender: r.required('ATTEST_MAIL_SENDER', 'to know which mailbox sends evidence'),
  };

  const allowedTenants = r
    .required('ATTEST_ALLOWED_TENANTS', 'to know which tenants may talk to the bot')
    .split(',')
    .map((t) => t.trim().toLowerCase());
  const botAuth = r.required('ATTEST_BOT_AUTH', 'to know how the bot endpoint authenticates');
  let bot: BotConfig;
  if (botAuth === 'anonymous') {
    if (host !== 'local') {
      throw new ConfigError(
        'ATTEST_BOT_AUTH',
        'is "anonymous", which only the local host allows',
        SETTINGS.ATTEST_BOT_AUTH.fix,
      );
    }
    bot = { auth: 'anonymous', allowedTenants };
  } else {
    const because = `when ATTEST_BOT_AUTH=${botAuth}`;
    const appId = r.required('ATTEST_BOT_APP_ID', because);
    const tenantId = r.required('ATTEST_BOT_TENANT_ID', because);
    bot =
      botAuth === 'client-secret'
        ? {
            auth: botAuth,
            appId,
            tenantId,
            password: r.required('ATTEST_BOT_APP_PASSWORD', because),
            allowedTenants,
          }
        : { auth: botAuth, appId, tenantId, allowedTenants };
  }

  const tabAuth = r.required('ATTEST_TAB_AUTH', "to know how the tab's API checks who is calling");
  if (tabAuth === 'local' && host !== 'local') {
    throw new ConfigError(
      'ATTEST_TAB_AUTH',
      'is "local": Configuration for Azure refuses a local issuer, whose tokens anyone who can reach the host could mint',
      'Set ATTEST_TAB_AUTH=entra in the Function App settings, with ATTEST_TAB_CLIENT_ID and ATTEST_TAB_APP_ID_URI',
    );
  }
  const tabBecause = `for the tab's SSO (ATTEST_TAB_AUTH=${tabAuth})`;
  const tab: TabAuthConfig = {
    auth: tabAuth,
    clientId: r.required('ATTEST_TAB_CLIENT_ID', tabBecause).toLowerCase(),
    appIdUri: r.required('ATTEST_TAB_APP_ID_URI', tabBecause),
    allowedTenants,
    allowedClients: tabAuth === 'local' ? [LOCAL_SIGNIN_CLIENT_ID] : [...TEAMS_CLIENT_IDS],
    auditorGroupId: r.optional('ATTEST_AUDITOR_GROUP_ID')?.toLowerCase(),
  };

  // The simulator's demo tenant has Attest in its org catalog; a real tenant's id is the admin's to give.
  const catalogSetting =
    r.optional('ATTEST_TEAMS_CATALOG_APP_ID') ??
    (directory.mode === 'simulator' ? SIMULATOR_TEAMS_CATALOG_APP_ID : undefined);
  const teamsCatalogAppId = catalogSetting === 'none' ? undefined : catalogSetting?.toLowerCase();
  // NB. TeamsAppInstallation.ReadWriteSelfForUser.All installs only the Teams app whose webApplicationInfo.id
  // (the tab's SSO app) is the app calling Graph: with two apps, every installation would answer 403.
  if (teamsCatalogAppId && directory.mode === 'graph' && directory.clientId.toLowerCase() !== tab.clientId) {
    throw new ConfigError(
      'ATTEST_GRAPH_CLIENT_ID',
      `(${directory.clientId}) differs from ATTEST_TAB_CLIENT_ID (${tab.clientId}), but ATTEST_TEAMS_CATALOG_APP_ID is set: Graph lets an app install only the Teams app whose webApplicationInfo.id is that same app`,
      "Call Graph as the tab's Entra app: set ATTEST_GRAPH_CLIENT_ID to ATTEST_TAB_CLIENT_ID with ATTEST_GRAPH_CREDENTIAL=federated (docs/deploy.md), or unset ATTEST_TEAMS_CATALOG_APP_ID to escalate past approvers who never opened Attest",
    );
  }

  return Object.freeze({
    host,
    storage,
    directory,
    tickets,
    mail,
    bot,
    taskHub: r.required('ATTEST_TASK_HUB', 'to name the durable task hub'),
    catalogPath: r.required(
      'ATTEST_CATALOG_PATH',
      'to know which roles can be requested and under which policy',
    ),
    adminGroupId: r.optional('ATTEST_ADMIN_GROUP_ID'),
    tab,
    approversChannelId: r.optional('ATTEST_APPROVERS_CHANNEL_ID'),
    teamsAppId: r.optional('ATTEST_TEAMS_APP_ID'),
    teamsCatalogAppId,
    reconcile: reconcileSchedule(
      r.required('ATTEST_RECONCILE_SCHEDULE', 'to know when to reconcile group memberships'),
    ),
    offboarding: reconcileSchedule(
      r.required('ATTEST_OFFBOARDING_SCHEDULE', 'to know when to look for users who left'),
    ),
    ticketSync: {
      schedule: r.required('ATTEST_TICKETS_SYNC_SCHEDULE', 'to know when to carry audit events to tickets'),
      maxAttempts: r.required('ATTEST_TICKETS_MAX_ATTEMPTS', 'to know when to park a failing ticket update'),
      searchLagMs: r.required('ATTEST_TICKETS_SEARCH_LAG_MS', 'to know how long ticket search lags'),
    },
    evidenceMail: evidenceMailConfig(r, mail.sender),
    evidence: {
      container: r.required('ATTEST_EVIDENCE_CONTAINER', 'to know where audit digests are anchored'),
      ...digestInterval(
        r.required('ATTEST_DIGEST_INTERVAL_MINUTES', 'to know how often the audit log is digested'),
      ),
    },
    telemetry: {
      connectionString: r.optional('APPLICATIONINSIGHTS_CONNECTION_STRING'),
      clientId: r.optional('AZURE_CLIENT_ID'),
    },
    local: {
      httpPort: r.optional('ATTEST_HTTP_PORT') ?? 3978,
      playgroundPort: r.optional('ATTEST_PLAYGROUND_PORT') ?? 56150,
    },
  });
}

function jiraSite(r: Reader, because: string): Pick<JiraTicketsConfig, 'baseUrl' | 'siteUrl' | 'auth'> {
  const baseUrl = r.required('ATTEST_JIRA_BASE_URL', because);
  const siteUrl = r.optional('ATTEST_JIRA_SITE_URL');
  const kind = r.required('ATTEST_JIRA_AUTH', because);
  if (siteUrl === undefined && new URL(baseUrl).hostname === 'api.atlassian.com')
    throw new ConfigError(
      'ATTEST_JIRA_SITE_URL',
      'is missing (needed when ATTEST_JIRA_BASE_URL is the api.atlassian.com gateway, which people cannot browse)',
      SETTINGS.ATTEST_JIRA_SITE_URL.fix,
    );
  const authBecause = `when ATTEST_JIRA_AUTH=${kind}`;
  return {
    baseUrl,
    ...(siteUrl !== undefined ? { siteUrl } : {}),
    auth:
      kind === 'token'
        ? {
            kind,
            email: r.required('ATTEST_JIRA_EMAIL', authBecause),
            apiToken: r.required('ATTEST_JIRA_API_TOKEN', authBecause),
          }
        : { kind, accessToken: r.required('ATTEST_JIRA_OAUTH_TOKEN', authBecause) },
  };
}

function ticketsConfig(r: Reader, mode: TicketsConfig['mode'], host: HostKind): TicketsConfig {
  if (mode === 'none') return { mode };
  if ((mode === 'jira-local' || mode === 'servicenow-local') && host !== 'local') {
    throw new ConfigError(
      'ATTEST_TICKETS_MODE',
      `is "${mode}", a local fake only the local host (npm start) runs`,
      `Set ATTEST_TICKETS_MODE=${mode === 'jira-local' ? 'jira' : 'servicenow'} in the Function App settings, with the ${mode === 'jira-local' ? 'ATTEST_JIRA_*' : 'ATTEST_SERVICENOW_*'} settings`,
    );
  }
  const because = `when ATTEST_TICKETS_MODE=${mode}`;
  if (mode === 'jira' || mode === 'jira-local') {
    const site = mode === 'jira' ? jiraSite(r, because) : undefined;
    // The local fake has a project SEC unless told otherwise; a real site has no default.
    const projectKey =
      mode === 'jira-local'
        ? (r.optional('ATTEST_JIRA_PROJECT_KEY') ?? 'SEC')
        : r.required('ATTEST_JIRA_PROJECT_KEY', because);
    const shape = {
      projectKey,
      issueType: r.required('ATTEST_JIRA_ISSUE_TYPE', because),
      fields: r.optional('ATTEST_JIRA_FIELDS') ?? {},
      resolveTransition: r.required('ATTEST_JIRA_RESOLVE_TRANSITION', because),
      allowedProjects: [...new Set([projectKey, ...(r.optional('ATTEST_JIRA_ALLOWED_PROJECTS') ?? [])])],
    };
    return site ? { mode: 'jira', ...site, ...shape } : { mode: 'jira-local', ...shape };
  }
  const shape = {
    table: r.required('ATTEST_SERVICENOW_TABLE', because),
    closedState: r.required('ATTEST_SERVICENOW_CLOSED_STATE', because),
    fields: r.optional('ATTEST_SERVICENOW_FIELDS') ?? {},
  };
  if (mode === 'servicenow-local') return { mode, ...shape };
  const instanceUrl = r.required('ATTEST_SERVICENOW_INSTANCE_URL', because);
  const kind = r.required('ATTEST_SERVICENOW_AUTH', because);
  const authBecause = `when ATTEST_SERVICENOW_AUTH=${kind}`;
  return {
    mode,
    instanceUrl,
    auth:
      kind === 'basic'
        ? {
            kind,
            username: r.required('ATTEST_SERVICENOW_USERNAME', authBecause),
            password: r.required('ATTEST_SERVICENOW_PASSWORD', authBecause),
          }
        : {
            kind,
            clientId: r.required('ATTEST_SERVICENOW_CLIENT_ID', authBecause),
            clientSecret: r.required('ATTEST_SERVICENOW_CLIENT_SECRET', authBecause),
          },
    ...shape,
  };
}

function evidenceMailConfig(r: Reader, sender: string): EvidenceMailConfig {
  const recipients = [...new Set(splitList(r.optional('ATTEST_EVIDENCE_MAIL_TO') ?? '').map(lower))];
  const domains = r.optional('ATTEST_EVIDENCE_MAIL_ALLOWED_DOMAINS');
  const allowedDomains = domains ? splitList(domains).map(lower) : [lower(sender.split('@')[1])];
  const outside = recipients.filter((a) => !allowedDomains.includes(a.split('@')[1]));
  if (outside.length) {
    throw new ConfigError(
      'ATTEST_EVIDENCE_MAIL_TO',
      `names ${outside.join(', ')}, outside the domains evidence may be sent to (${allowedDomains.join(', ')})`,
      'Remove the address, or add its domain to ATTEST_EVIDENCE_MAIL_ALLOWED_DOMAINS if the evidence may leave for it',
    );
  }
  return {
    schedule: r.required('ATTEST_EVIDENCE_MAIL_SCHEDULE', 'to know when to send the evidence e-mail'),
    recipients,
    allowedDomains,
    attempts: r.required('ATTEST_EVIDENCE_MAIL_ATTEMPTS', 'to know how often to try a failed send'),
    linkValidMs:
      r.required('ATTEST_EVIDENCE_MAIL_LINK_DAYS', 'to know how long a bundle link stays valid') * 86_400_000,
  };
}

const lower = (s: string) => s.toLowerCase();

/**
 * The period a scheduled run covers: from the schedule's occurrence before the latest one at or before `at`, to
 * that latest one (`[from, to)`, ISO). A run started late (a host down at 07:00) still covers the same period,
 * so every tick for one occurrence names the same period.
 */
export function schedulePeriodAt(schedule: string, at: Date): { from: string; to: string } {
  // Occurrences in a window before `at`, widened until it holds two (a yearly schedule needs a wide one).
  for (let span = 120_000; span <= 800 * 86_400_000; span *= 4) {
    const start = new Date(at.getTime() - span);
    const job = new Cron(schedule, { timezone: 'UTC', paused: true });
    const seen: Date[] = [];
    for (let next = job.nextRun(start); next && next.getTime() <= at.getTime(); next = job.nextRun(next)) {
      seen.push(next);
    }
    job.stop();
    if (seen.length >= 2) {
      const [from, to] = seen.slice(-2);
      return { from: from.toISOString(), to: to.toISOString() };
    }
  }
  throw new Error(`Schedule '${schedule}' has not fired twice in the 800 days before ${at.toISOString()}.`);
}

function digestInterval(minutes: number): Omit<AttestConfig['evidence'], 'container'> {
  return {
    digestIntervalMinutes: minutes,
    digestSchedule: minutes === 60 ? '0 0 * * * *' : `0 */${minutes} * * * *`,
  };
}

function reconcileSchedule(schedule: string): AttestConfig['reconcile'] {
  return { schedule, intervalMs: scheduleIntervalMs(schedule) };
}

/** Loads from this process's environment: the one read of process.env in Attest. */
export function loadConfigFromProcess(host: HostKind): AttestConfig {
  return loadConfig(process.env, host);
}

/** What each part runs as, for the start-up banner and /healthz. */
export function describeModes(config: AttestConfig): Record<string, string> {
  return {
    storage: config.storage.mode,
    directory: config.directory.mode,
    tickets: config.tickets.mode,
    mail: config.mail.mode,
    bot: config.bot.auth,
    tab: config.tab.auth,
    orchestrations: config.host === 'local' ? 'local-replay-host' : 'durable-functions',
  };
}

/** The environment for a child process the local host starts: this process's, plus `extra`. */
export function childProcessEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, ...extra };
}
