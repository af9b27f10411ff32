// Attest on Azure: a Flex Consumption function app (Linux, Node 22) with managed identities, one storage
// account (tables, Durable task hub, WORM container for audit digests; no shared keys), Application Insights
// on Log Analytics, Key Vault (RBAC) for ticketing secrets, and an Azure Bot with the Teams channel.
//
// Deploy with the Microsoft 365 Agents Toolkit (m365agents.yml) or directly:
//   az deployment group create -g <rg> -f infra/azure.bicep -p resourceBaseName=attest mailSender=attest@contoso.com
// docs/deploy.md walks through both, and through what no template can do: the federated credential that lets the
// function app's identity sign in as the Entra app (Bicep creates Entra objects only through the preview Microsoft
// Graph extension, so scripts/federated-credential.sh does it), admin consent for the Graph permissions, and the
// Exchange scope of Mail.Send.

targetScope = 'resourceGroup'

@description('Short lowercase name (3-11 letters and digits) every resource name starts from; a hash of the subscription, resource group and this name is appended for global uniqueness.')
@minLength(3)
@maxLength(11)
param resourceBaseName string

@description('Azure region for everything except the bot (Azure Bot is global).')
param location string = resourceGroup().location

@description('Tags for every resource.')
param tags object = {
  application: 'attest'
}

@description('Entra tenant whose directory Attest governs through Microsoft Graph. Defaults to the deployment tenant.')
param graphTenantId string = tenant().tenantId

@description('Comma-separated tenant ids whose users may talk to the bot. Empty means the deployment tenant only.')
param allowedTenants string = ''

@description('User principal name of the mailbox that sends evidence e-mail, e.g. attest@contoso.com. Restrict the app to it (docs/permissions.md).')
param mailSender string

@description('Comma-separated addresses that receive the weekly evidence e-mail; empty sends none.')
param evidenceMailTo string = ''

@description('Comma-separated mail domains evidence may be sent to; empty means the domain of mailSender.')
param evidenceMailAllowedDomains string = ''

@description('NCRONTAB (UTC) of the evidence e-mail; each mail covers the time since the previous occurrence.')
param evidenceMailSchedule string = '0 0 7 * * 1'

@description('Durable Functions task hub name (host.json durableTask.hubName must match).')
param taskHub string = 'AttestHub'

@description('Path of the access catalog YAML inside the deployed package, relative to the app root (the folder holding host.json). `npm run package -- --catalog <file>` puts the catalog there (format: docs/catalog.md).')
param catalogPath string = 'catalog/catalog.yaml'

@description('Object id of the Entra group whose members administer Attest (may revoke any access).')
param adminGroupId string

@description('Object id of the Entra group whose members see everything in the review tab, read-only; empty for none.')
param auditorGroupId string = ''

@description('Application (client) id of THE Entra app (aadApp/create writes AAD_APP_CLIENT_ID): the tab\'s SSO app, and the app Attest calls Microsoft Graph as through a federated credential on the function app\'s identity.')
param tabClientId string

@description('The Teams app\'s id in the org app catalog (TEAMS_APP_PUBLISHED_APP_ID, written by `atk publish`); empty until the app is published: Attest then installs it for nobody.')
param teamsCatalogAppId string = ''

@description('The Teams app id of the manifest (TEAMS_APP_ID), for links to the Access reviews tab.')
param teamsAppId string = ''

@description('Teams channel that also receives every approval card, e.g. 19:abc123@thread.tacv2; empty for none.')
param approversChannelId string = ''

@description('NCRONTAB (UTC) of the membership reconcile: drift findings and overdue revocations.')
param reconcileSchedule string = '0 */15 * * * *'

@description('NCRONTAB (UTC) of the offboarding sweep.')
param offboardingSchedule string = '0 */15 * * * *'

@description('Tries of a failed evidence e-mail before Attest admins are told.')
@minValue(1)
@maxValue(20)
param evidenceMailAttempts int = 5

@description('Days the link to an evidence bundle too large to attach stays valid (at most 7).')
@minValue(1)
@maxValue(7)
param evidenceMailLinkDays int = 7

@description('Where ticket sync goes.')
@allowed([
  'none'
  'jira'
  'servicenow'
])
param ticketsMode string = 'none'

@description('Jira site, e.g. https://acme.atlassian.net (ticketsMode jira).')
param jiraBaseUrl string = ''

@description('Jira account e-mail (ticketsMode jira).')
param jiraEmail string = ''

@description('Jira project key, e.g. SEC (ticketsMode jira).')
param jiraProjectKey string = ''

@description('ServiceNow instance URL, e.g. https://acme.service-now.com (ticketsMode servicenow).')
param serviceNowInstanceUrl string = ''

@description('ServiceNow integration user (ticketsMode servicenow).')
param serviceNowUsername string = ''

@description('Key Vault secret name for the Jira API token; set its value after deployment.')
param jiraApiTokenSecretName string = 'jira-api-token'

@description('Key Vault secret name for the ServiceNow password; set its value after deployment.')
param serviceNowPasswordSecretName string = 'servicenow-password'

@description('How Attest signs in to Jira: token (e-mail and API token) or oauth (an OAuth 2.0 access token).')
@allowed([
  'token'
  'oauth'
])
param jiraAuth string = 'token'

@description('Key Vault secret name for the Jira OAuth access token (jiraAuth oauth); set its value after deployment.')
param jiraOAuthTokenSecretName string = 'jira-oauth-token'

@description('Jira site people open, for ticket links; needed with jiraAuth oauth (base URL https://api.atlassian.com/ex/jira/<cloudId>).')
param jiraSiteUrl string = ''

@description('Jira issue type tickets are created as.')
param jiraIssueType string = 'Task'

@description('Attest names to Jira field ids, e.g. requester=customfield_10010,app=customfield_10011.')
param jiraFields string = ''

@description('Name of the Jira workflow transition that resolves a ticket.')
param jiraResolveTransition string = 'Done'

@description('Project keys a requester may reference tickets of, comma-separated (the own project always).')
param jiraAllowedProjects string = ''

@description('ServiceNow table tickets are created in.')
param serviceNowTable string = 'sc_req_item'

@description('How Attest signs in to ServiceNow: basic (user and password) or oauth (client credentials).')
@allowed([
  'basic'
  'oauth'
])
param serviceNowAuth string = 'basic'

@description('Client id of the ServiceNow OAuth application (serviceNowAuth oauth).')
param serviceNowClientId string = ''

@description('Key Vault secret name for the ServiceNow OAuth client secret (serviceNowAuth oauth); set its value after deployment.')
param serviceNowClientSecretSecretName string = 'servicenow-client-secret'

@description('Value of the ServiceNow state that closes a ticket (sc_req_item: 3, Closed Complete).')
param serviceNowClosedState string = '3'

@description('Attest names to ServiceNow columns, e.g. requester=u_requester.')
param serviceNowFields string = ''

@description('Storage redundancy.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSku string = 'Standard_ZRS'

@description('Days an audit digest blob is immutable after it is written (2555 days is about 7 years).')
@minValue(1)
@maxValue(146000)
param auditRetentionDays int = 2555

@description('true once the attest-evidence WORM policy has been locked; the template then leaves the policy alone.')
param auditPolicyLocked bool = false

@description('Minutes between audit digests when anything changed (ATTEST_DIGEST_INTERVAL_MINUTES; they also run daily). It bounds how long a cut-off tail of the log can go unseen.')
@allowed([
  1
  2
  3
  4
  5
  6
  10
  12
  15
  20
  30
  60
])
param digestIntervalMinutes int = 15

@description('Key Vault purge protection (irreversible once on).')
param enableKeyVaultPurgeProtection bool = true

@description('Optional object id of the person or group who sets the ticketing secrets (gets Key Vault Secrets Officer).')
param secretsOfficerPrincipalId string = ''

@description('Principal type of secretsOfficerPrincipalId.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param secretsOfficerPrincipalType string = 'User'

@description('Name shown for the bot in the Azure portal.')
param botDisplayName string = 'Attest'

@description('Azure Bot pricing tier.')
@allowed([
  'F0'
  'S1'
])
param botSku string = 'F0'

var baseName = toLower(resourceBaseName)
var suffix = take(uniqueString(subscription().id, resourceGroup().id, baseName), 6)
var names = {
  functionApp: 'func-${baseName}-${suffix}'
  plan: 'plan-${baseName}-${suffix}'
  storage: 'st${baseName}${suffix}'
  keyVault: 'kv-${baseName}-${suffix}'
  workspace: 'log-${baseName}-${suffix}'
  appInsights: 'appi-${baseName}-${suffix}'
  botIdentity: 'id-${baseName}-bot-${suffix}'
  bot: 'bot-${baseName}-${suffix}'
}

// The bot's identity. Azure Bot takes a managed identity only as a user-assigned one (msaAppType
// UserAssignedMSI); see modules/bot.bicep.
resource botIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: names.botIdentity
  location: location
  tags: tags
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'attest-monitoring'
  params: {
    location: location
    tags: tags
    workspaceName: names.workspace
    appInsightsName: names.appInsights
  }
}

module storage 'modules/storage.bicep' = {
  name: 'attest-storage'
  params: {
    location: location
    tags: tags
    storageAccountName: names.storage
    skuName: storageSku
    auditRetentionDays: auditRetentionDays
    auditPolicyLocked: auditPolicyLocked
  }
}

module keyVault 'modules/key-vault.bicep' = {
  name: 'attest-key-vault'
  params: {
    location: location
    tags: tags
    keyVaultName: names.keyVault
    enablePurgeProtection: enableKeyVaultPurgeProtection
  }
}

module functionApp 'modules/function-app.bicep' = {
  name: 'attest-function-app'
  params: {
    location: location
    tags: tags
    functionAppName: names.functionApp
    planName: names.plan
    botIdentityId: botIdentity.id
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
  }
}

module roleAssignments 'modules/role-assignments.bicep' = {
  name: 'attest-role-assignments'
  params: {
    principalId: functionApp.outputs.principalId
    storageAccountName: storage.outputs.name
    evidenceContainerName: storage.outputs.evidenceContainerName
    keyVaultName: keyVault.outputs.name
    appInsightsName: monitoring.outputs.appInsightsName
    secretsOfficerPrincipalId: secretsOfficerPrincipalId
    secretsOfficerPrincipalType: secretsOfficerPrincipalType
  }
}

module appSettings 'modules/app-settings.bicep' = {
  name: 'attest-app-settings'
  dependsOn: [
    roleAssignments
  ]
  params: {
    functionAppName: functionApp.outputs.name
    storageAccountName: storage.outputs.name
    storageTableEndpoint: storage.outputs.tableEndpoint
    storageBlobEndpoint: storage.outputs.blobEndpoint
    evidenceContainerName: storage.outputs.evidenceContainerName
    digestIntervalMinutes: digestIntervalMinutes
    appInsightsConnectionString: monitoring.outputs.connectionString
    keyVaultUri: keyVault.outputs.uri
    graphTenantId: graphTenantId
    botAppId: botIdentity.properties.clientId
    botTenantId: botIdentity.properties.tenantId
    allowedTenants: empty(allowedTenants) ? tenant().tenantId : allowedTenants
    mailSender: mailSender
    evidenceMailTo: evidenceMailTo
    evidenceMailAllowedDomains: evidenceMailAllowedDomains
    evidenceMailSchedule: evidenceMailSchedule
    taskHub: taskHub
    catalogPath: catalogPath
    adminGroupId: adminGroupId
    auditorGroupId: auditorGroupId
    tabClientId: tabClientId
    // One Entra app for SSO and Graph: TeamsAppInstallation.ReadWriteSelfForUser.All installs only the Teams app
    // whose webApplicationInfo.id is the calling app.
    graphClientId: tabClientId
    teamsCatalogAppId: teamsCatalogAppId
    teamsAppId: teamsAppId
    approversChannelId: approversChannelId
    reconcileSchedule: reconcileSchedule
    offboardingSchedule: offboardingSchedule
    evidenceMailAttempts: evidenceMailAttempts
    evidenceMailLinkDays: evidenceMailLinkDays
    // The manifest's webApplicationInfo.resource: api://<BOT_DOMAIN>/<client id>.
    tabAppIdUri: 'api://${functionApp.outputs.hostName}/${tabClientId}'
    ticketsMode: ticketsMode
    jiraBaseUrl: jiraBaseUrl
    jiraEmail: jiraEmail
    jiraProjectKey: jiraProjectKey
    serviceNowInstanceUrl: serviceNowInstanceUrl
    serviceNowUsername: serviceNowUsername
    jiraApiTokenSecretName: jiraApiTokenSecretName
    serviceNowPasswordSecretName: serviceNowPasswordSecretName
    jiraAuth: jiraAuth
    jiraOAuthTokenSecretName: jiraOAuthTokenSecretName
    jiraSiteUrl: jiraSiteUrl
    jiraIssueType: jiraIssueType
    jiraFields: jiraFields
    jiraResolveTransition: jiraResolveTransition
    jiraAllowedProjects: jiraAllowedProjects
    serviceNowTable: serviceNowTable
    serviceNowAuth: serviceNowAuth
    serviceNowClientId: serviceNowClientId
    serviceNowClientSecretSecretName: serviceNowClientSecretSecretName
    serviceNowClosedState: serviceNowClosedState
    serviceNowFields: serviceNowFields
  }
}

module bot 'modules/bot.bicep' = {
  name: 'attest-bot'
  params: {
    botName: names.bot
    displayName: botDisplayName
    tags: tags
    sku: botSku
    functionHostName: functionApp.outputs.hostName
    botIdentityId: botIdentity.id
    botIdentityClientId: botIdentity.properties.clientId
    botIdentityTenantId: botIdentity.properties.tenantId
  }
}

// Output names are UPPER_SNAKE because the Agents Toolkit writes arm/deploy outputs into env/.env.<env>
// under these names; the Teams manifest uses BOT_ID and BOT_DOMAIN.

@description('Bot Microsoft App ID (client id of the bot identity); the manifest\'s bots[0].botId.')
output BOT_ID string = botIdentity.properties.clientId

@description('Host serving /api/messages and the tab; the manifest\'s validDomains and tab URLs.')
output BOT_DOMAIN string = functionApp.outputs.hostName

@description('Function app host name.')
output FUNCTION_APP_HOSTNAME string = functionApp.outputs.hostName

@description('Function app name (deployment target).')
output FUNCTION_APP_NAME string = functionApp.outputs.name

@description('Function app resource id.')
output FUNCTION_APP_RESOURCE_ID string = functionApp.outputs.id

@description('Object id of the function app\'s system-assigned identity: the subject of the federated credential on the Entra app AAD_APP_CLIENT_ID (scripts/federated-credential.sh). It holds no Graph permission itself.')
output FUNCTION_PRINCIPAL_ID string = functionApp.outputs.principalId

@description('Issuer of the federated credential: the Entra tenant of the function app\'s identity, v2.0 endpoint.')
output FEDERATED_CREDENTIAL_ISSUER string = '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'

@description('Azure Bot resource name.')
output AZURE_BOT_NAME string = bot.outputs.name

@description('Storage account name.')
output STORAGE_ACCOUNT_NAME string = storage.outputs.name

@description('Table endpoint (ATTEST_STORAGE_TABLE_URL).')
output STORAGE_TABLE_ENDPOINT string = storage.outputs.tableEndpoint

@description('Blob endpoint (ATTEST_STORAGE_BLOB_URL).')
output STORAGE_BLOB_ENDPOINT string = storage.outputs.blobEndpoint

@description('WORM container for digest anchors and evidence bundles (ATTEST_EVIDENCE_CONTAINER).')
output EVIDENCE_CONTAINER string = storage.outputs.evidenceContainerName

@description('Key Vault name (set the ticketing secrets here).')
output KEY_VAULT_NAME string = keyVault.outputs.name
