// The Attest function app on the Flex Consumption plan (Linux, Node 22).
//
// Identities:
// - system-assigned: everything Attest does as itself: Table/Blob/Queue storage (host, Durable Functions and
//   Attest's own tables), Key Vault references, Application Insights. For Microsoft Graph it is the subject of a
//   federated identity credential on THE Entra app (the tab's SSO app): it fetches an assertion for
//   api://AzureADTokenExchange and signs in as that app, which holds the Graph application permissions.
// - user-assigned (botIdentityId): the Azure Bot's identity only. Azure Bot accepts a managed identity solely
//   as msaAppType UserAssignedMSI, so the bot needs one; the bot adapter picks it by client id
//   (ATTEST_BOT_APP_ID), so it never becomes the app's default credential.
//
// App settings are applied separately (app-settings.bicep) after the role assignments exist, so the host never
// starts against storage it cannot read yet.

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Function app name; also the host name prefix (<name>.azurewebsites.net).')
param functionAppName string

@description('Flex Consumption plan name.')
param planName string

@description('Resource id of the user-assigned identity the Azure Bot runs as.')
param botIdentityId string

@description('Blob container URL the plan deploys packages to (https://<account>.blob.core.windows.net/<container>).')
param deploymentContainerUrl string

@description('Upper bound on scale-out instances (Flex Consumption: 40 to 1000).')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Memory per instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned, UserAssigned'
    userAssignedIdentities: {
      '${botIdentityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientAffinityEnabled: false
    publicNetworkAccess: 'Enabled'
    // NB. Key Vault references resolve with the system-assigned identity unless told otherwise.
    keyVaultReferenceIdentity: 'SystemAssigned'
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      // NB. On Flex Consumption this replaces the FUNCTIONS_WORKER_RUNTIME app setting, which the plan
      // rejects.
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
}

// Deployments authenticate with Microsoft Entra ID (az functionapp deployment source config-zip); publishing
// user names and passwords stay off.
resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

@description('Function app name.')
output name string = functionApp.name

@description('Function app resource id.')
output id string = functionApp.id

@description('Default host name, e.g. func-attest-abc123.azurewebsites.net')
output hostName string = functionApp.properties.defaultHostName

@description('Object id of the system-assigned identity (the principal that gets roles and Graph permissions).')
output principalId string = functionApp.identity.principalId
