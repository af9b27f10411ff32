// The function app's application settings: the Functions host's own (identity-based storage, Application
// Insights) and every setting Attest's config (src/config/config.ts) reads in Azure. Applied after the role
// assignments so the host starts with the access it needs.
//
// NB. This resource replaces the whole app-settings collection: a setting added by hand in the portal is
// removed by the next deployment. Add it here instead.

@description('Function app name.')
param functionAppName string

@description('Storage account name (identity-based AzureWebJobsStorage).')
param storageAccountName string

@description('Table endpoint, e.g. https://<account>.table.core.windows.net')
param storageTableEndpoint string

@description('Blob endpoint, e.g. https://<account>.blob.core.windows.net')
param storageBlobEndpoint string

@description('Blob container of digest anchors and evidence bundles (ATTEST_EVIDENCE_CONTAINER).')
param evidenceContainerName string

@description('Minutes between audit digests when anything changed (ATTEST_DIGEST_INTERVAL_MINUTES).')
param digestIntervalMinutes int

@description('Application Insights connection string.')
param appInsightsConnectionString string

@description('Key Vault URI with a trailing slash.')
param keyVaultUri string

@description('Entra tenant whose directory Attest governs (Microsoft Graph).')
param graphTenantId string

@description('Bot Microsoft App ID: client id of the bot\'s user-assigned identity.')
param botAppId string

@description('Tenant of the bot identity.')
param botTenantId string

@description('Comma-separated tenant ids whose users may talk to the bot.')
param allowedTenants string

@description('Mailbox (UPN) that sends evidence e-mail.')
param mailSender string

@description('Comma-separated addresses that receive the weekly evidence e-mail; empty sends none.')
param evidenceMailTo string

@description('Comma-separated mail domains evidence may be sent to; empty means the domain of mailSender.')
param evidenceMailAllowedDomains string

@description('NCRONTAB (UTC) of the evidence e-mail.')
param evidenceMailSchedule string

@description('Durable Functions task hub name.')
param taskHub string

@description('Path of the access catalog YAML inside the deployed package (format: docs/catalog.md).')
param catalogPath string

@description('Object id of the Entra group whose members administer Attest; empty for none.')
param adminGroupId string

@description('Object id of the Entra group whose members see everything in the tab, read-only; empty for none.')
param auditorGroupId string

@description('Application (client) id of THE Entra app: the tab\'s SSO app, which Attest also calls Microsoft Graph as (AAD_APP_CLIENT_ID).')
param tabClientId string

@description('Application (client) id Attest signs in to Microsoft Graph as (ATTEST_GRAPH_CLIENT_ID): the same Entra app as tabClientId, because TeamsAppInstallation.ReadWriteSelfForUser.All installs only the Teams app whose webApplicationInfo.id is the calling app.')
param graphClientId string

@description('The Teams app\'s id in the org app catalog (Graph teamsApp.id, TEAMS_APP_PUBLISHED_APP_ID after publishing); empty: Attest installs the app for nobody.')
param teamsCatalogAppId string = ''

@description('The Teams app id of the manifest (TEAMS_APP_ID), for links to the Access reviews tab; empty: the bot\'s app id.')
param teamsAppId string = ''

@description('Teams channel that also receives every approval card, e.g. 19:abc123@thread.tacv2; empty for none.')
param approversChannelId string = ''

@description('NCRONTAB (UTC) of the membership reconcile (drift, overdue revocations).')
param reconcileSchedule string = '0 */15 * * * *'

@description('NCRONTAB (UTC) of the offboarding sweep (users disabled or deleted in Entra lose their access).')
param offboardingSchedule string = '0 */15 * * * *'

@description('Tries of a failed evidence e-mail before Attest admins are told.')
@minValue(1)
@maxValue(20)
param evidenceMailAttempts int = 5

@description('Days the link to an evidence bundle too large to attach stays valid (a user delegation SAS lasts at most 7).')
@minValue(1)
@maxValue(7)
param evidenceMailLinkDays int = 7

@description('Application ID URI of the tab app registration, api://<host>/<client id>.')
param tabAppIdUri string

@description('Where ticket sync goes.')
@allowed([
  'none'
  'jira'
  'servicenow'
])
param ticketsMode string

@description('Jira site, e.g. https://acme.atlassian.net (ticketsMode jira).')
param jiraBaseUrl string

@description('Jira account e-mail (ticketsMode jira).')
param jiraEmail string

@description('Jira project key (ticketsMode jira).')
param jiraProjectKey string

@description('ServiceNow instance URL (ticketsMode servicenow).')
param serviceNowInstanceUrl string

@description('ServiceNow integration user (ticketsMode servicenow).')
param serviceNowUsername string

@description('NCRONTAB schedule of the ticket-sync drain (UTC); a tick while a drain runs is skipped.')
param ticketsSyncSchedule string = '0 * * * * *'

@description('Attempts of a ticket update against an unavailable ticket system before it is parked for an admin.')
@minValue(1)
@maxValue(100)
param ticketsMaxAttempts int = 8

@description('Delay (ms) before ticket sync searches again for a ticket it may have created before a crash.')
@minValue(0)
@maxValue(600000)
param ticketsSearchLagMs int = 10000

@description('Key Vault secret holding the Jira API token.')
param jiraApiTokenSecretName string

@description('How Attest signs in to Jira: token (e-mail and API token) or oauth (an OAuth 2.0 access token).')
@allowed([
  'token'
  'oauth'
])
param jiraAuth string

@description('Key Vault secret holding the Jira OAuth access token (jiraAuth oauth).')
param jiraOAuthTokenSecretName string

@description('Jira site people open, for ticket links (needed with jiraAuth oauth, whose base URL is https://api.atlassian.com/ex/jira/<cloudId>); empty: jiraBaseUrl.')
param jiraSiteUrl string

@description('Issue type tickets are created as, e.g. Task.')
param jiraIssueType string

@description('Attest names to Jira field ids, e.g. requester=customfield_10010,app=customfield_10011; may be empty.')
param jiraFields string

@description('Name of the workflow transition that resolves a ticket, e.g. Done.')
param jiraResolveTransition string

@description('Project keys a requester may reference tickets of, comma-separated; may be empty (the own project).')
param jiraAllowedProjects string

@description('ServiceNow table tickets are created in, e.g. sc_req_item.')
param serviceNowTable string

@description('How Attest signs in to ServiceNow: basic (user and password) or oauth (client credentials).')
@allowed([
  'basic'
  'oauth'
])
param serviceNowAuth string

@description('Client id of the ServiceNow OAuth application (serviceNowAuth oauth).')
param serviceNowClientId string

@description('Key Vault secret holding the ServiceNow OAuth client secret (serviceNowAuth oauth).')
param serviceNowClientSecretSecretName string

@description('Value of the table state that closes a ticket (sc_req_item: 3, Closed Complete).')
param serviceNowClosedState string

@description('Attest names to ServiceNow columns, e.g. requester=u_requester; may be empty.')
param serviceNowFields string

@description('Key Vault secret holding the ServiceNow password.')
param serviceNowPasswordSecretName string

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

// No version in the secret URI: the reference follows the latest version, so rotating a secret needs no
// redeployment (App Service refreshes references within a day, or at once on restart).
var jiraTokenReference = '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${jiraApiTokenSecretName})'
var serviceNowPasswordReference = '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${serviceNowPasswordSecretName})'
var jiraOAuthTokenReference = '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${jiraOAuthTokenSecretName})'
var serviceNowClientSecretReference = '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${serviceNowClientSecretSecretName})'

var hostSettings = {
  // Identity-based host storage: no connection string. Without a __clientId the host uses the
  // system-assigned identity; Durable Functions (Azure Storage provider) uses this connection too.
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__credential: 'managedidentity'
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsightsConnectionString
  // Local auth is disabled on the component: telemetry is sent with the system-assigned identity.
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD'
}

// NB. AZURE_CLIENT_ID is deliberately absent: setting it would make the user-assigned bot identity the
// default credential for storage and the Graph assertion. Set it only if you move those to a user-assigned
// identity too.
//
// Graph: ATTEST_GRAPH_CREDENTIAL=federated. The system-assigned identity gets a token for
// api://AzureADTokenExchange and presents it as a client assertion for the Entra app ATTEST_GRAPH_CLIENT_ID, whose
// federated identity credential names that identity as its subject (docs/deploy.md, step 3). No secret anywhere.
var attestSettings = {
  ATTEST_STORAGE_MODE: 'managed-identity'
  ATTEST_STORAGE_TABLE_URL: storageTableEndpoint
  ATTEST_STORAGE_BLOB_URL: storageBlobEndpoint
  ATTEST_EVIDENCE_CONTAINER: evidenceContainerName
  ATTEST_DIGEST_INTERVAL_MINUTES: string(digestIntervalMinutes)
  ATTEST_DIRECTORY_MODE: 'graph'
  ATTEST_GRAPH_TENANT_ID: graphTenantId
  ATTEST_GRAPH_CLIENT_ID: graphClientId
  ATTEST_GRAPH_CREDENTIAL: 'federated'
  // Empty: Attest installs its Teams app for nobody, and an approver it cannot reach is escalated past.
  ATTEST_TEAMS_CATALOG_APP_ID: teamsCatalogAppId
  ATTEST_TEAMS_APP_ID: teamsAppId
  ATTEST_APPROVERS_CHANNEL_ID: approversChannelId
  ATTEST_TICKETS_MODE: ticketsMode
  ATTEST_MAIL_MODE: 'graph'
  ATTEST_MAIL_SENDER: mailSender
  // Empty values read as unset: no recipients sends no evidence e-mail; no domains allows the sender's only.
  ATTEST_EVIDENCE_MAIL_TO: evidenceMailTo
  ATTEST_EVIDENCE_MAIL_ALLOWED_DOMAINS: evidenceMailAllowedDomains
  ATTEST_EVIDENCE_MAIL_SCHEDULE: evidenceMailSchedule
  ATTEST_EVIDENCE_MAIL_ATTEMPTS: string(evidenceMailAttempts)
  ATTEST_EVIDENCE_MAIL_LINK_DAYS: string(evidenceMailLinkDays)
  ATTEST_RECONCILE_SCHEDULE: reconcileSchedule
  ATTEST_OFFBOARDING_SCHEDULE: offboardingSchedule
  ATTEST_BOT_AUTH: 'managed-identity'
  ATTEST_BOT_APP_ID: botAppId
  ATTEST_BOT_TENANT_ID: botTenantId
  ATTEST_ALLOWED_TENANTS: allowedTenants
  ATTEST_TASK_HUB: taskHub
  ATTEST_CATALOG_PATH: catalogPath
  ATTEST_ADMIN_GROUP_ID: adminGroupId
  ATTEST_AUDITOR_GROUP_ID: auditorGroupId
  // The tab validates Teams SSO tokens from Entra; the local issuer is refused in Azure.
  ATTEST_TAB_AUTH: 'entra'
  ATTEST_TAB_CLIENT_ID: tabClientId
  ATTEST_TAB_APP_ID_URI: tabAppIdUri
}

var ticketSyncSettings = ticketsMode != 'none' ? {
  ATTEST_TICKETS_SYNC_SCHEDULE: ticketsSyncSchedule
  ATTEST_TICKETS_MAX_ATTEMPTS: string(ticketsMaxAttempts)
  ATTEST_TICKETS_SEARCH_LAG_MS: string(ticketsSearchLagMs)
} : {}

var jiraSettings = ticketsMode == 'jira' ? union({
  ATTEST_JIRA_BASE_URL: jiraBaseUrl
  ATTEST_JIRA_AUTH: jiraAuth
  ATTEST_JIRA_PROJECT_KEY: jiraProjectKey
  ATTEST_JIRA_ISSUE_TYPE: jiraIssueType
  ATTEST_JIRA_FIELDS: jiraFields
  ATTEST_JIRA_RESOLVE_TRANSITION: jiraResolveTransition
  ATTEST_JIRA_ALLOWED_PROJECTS: jiraAllowedProjects
  ATTEST_JIRA_SITE_URL: jiraSiteUrl
}, jiraAuth == 'token' ? {
  ATTEST_JIRA_EMAIL: jiraEmail
  ATTEST_JIRA_API_TOKEN: jiraTokenReference
} : {
  ATTEST_JIRA_OAUTH_TOKEN: jiraOAuthTokenReference
}) : {}

var serviceNowSettings = ticketsMode == 'servicenow' ? union({
  ATTEST_SERVICENOW_INSTANCE_URL: serviceNowInstanceUrl
  ATTEST_SERVICENOW_TABLE: serviceNowTable
  ATTEST_SERVICENOW_AUTH: serviceNowAuth
  ATTEST_SERVICENOW_CLOSED_STATE: serviceNowClosedState
  ATTEST_SERVICENOW_FIELDS: serviceNowFields
}, serviceNowAuth == 'basic' ? {
  ATTEST_SERVICENOW_USERNAME: serviceNowUsername
  ATTEST_SERVICENOW_PASSWORD: serviceNowPasswordReference
} : {
  ATTEST_SERVICENOW_CLIENT_ID: serviceNowClientId
  ATTEST_SERVICENOW_CLIENT_SECRET: serviceNowClientSecretReference
}) : {}

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: union(hostSettings, attestSettings, ticketSyncSettings, jiraSettings, serviceNowSettings)
}
