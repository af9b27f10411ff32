// Azure Bot registration with the Microsoft Teams channel.
//
// msaAppType UserAssignedMSI: the bot's Microsoft App ID is the client id of a user-assigned managed identity,
// so there is no app registration, client secret or certificate to rotate. Azure Bot does not accept a
// system-assigned identity, and SingleTenant would need an app registration with a secret or certificate
// (or a federated credential) — more moving parts for the same result. Consequence: the bot is single-tenant
// in the identity's tenant, so Teams users must be in that tenant (ATTEST_ALLOWED_TENANTS says the same).

@description('Azure Bot resource name (globally unique handle).')
param botName string

@description('Display name shown in the Bot Framework portal.')
param displayName string

@description('Tags for every resource.')
param tags object

@description('Host name of the function app serving /api/messages.')
param functionHostName string

@description('Resource id of the user-assigned identity the bot runs as.')
param botIdentityId string

@description('Client id of that identity: the bot\'s Microsoft App ID.')
param botIdentityClientId string

@description('Tenant of that identity.')
param botIdentityTenantId string

@description('F0 is free (standard channels such as Teams are unmetered); S1 adds an SLA.')
@allowed([
  'F0'
  'S1'
])
param sku string = 'F0'

resource bot 'Microsoft.BotService/botServices@2022-09-15' = {
  name: botName
  location: 'global'
  tags: tags
  kind: 'azurebot'
  sku: {
    name: sku
  }
  properties: {
    displayName: displayName
    endpoint: 'https://${functionHostName}/api/messages'
    msaAppType: 'UserAssignedMSI'
    msaAppId: botIdentityClientId
    msaAppMSIResourceId: botIdentityId
    msaAppTenantId: botIdentityTenantId
  }
}

resource teamsChannel 'Microsoft.BotService/botServices/channels@2022-09-15' = {
  parent: bot
  name: 'MsTeamsChannel'
  location: 'global'
  properties: {
    channelName: 'MsTeamsChannel'
    properties: {
      isEnabled: true
    }
  }
}

@description('Azure Bot resource name.')
output name string = bot.name

@description('Messaging endpoint registered with the Bot Framework.')
output endpoint string = bot.properties.endpoint
