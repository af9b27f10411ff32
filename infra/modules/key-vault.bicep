// Key Vault in RBAC mode for the ticketing secrets (Jira API token, ServiceNow password). The function app
// reads them through Key Vault references resolved with its system-assigned identity; nobody puts a secret
// in an app setting or a parameter file. The secrets themselves are set by an operator after deployment.

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Key Vault name: 3-24 letters, digits and hyphens, globally unique.')
@minLength(3)
@maxLength(24)
param keyVaultName string

@description('Tenant the vault trusts.')
param tenantId string = tenant().tenantId

@description('Purge protection cannot be turned off again; leave it on outside throw-away environments.')
param enablePurgeProtection bool = true

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: keyVaultName
  location: location
  tags: tags
  properties: {
    tenantId: tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    // NB. ARM rejects enablePurgeProtection: false; leaving it unset is how "off" is said.
    enablePurgeProtection: enablePurgeProtection ? true : null
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

@description('Key Vault resource id.')
output id string = vault.id

@description('Key Vault name.')
output name string = vault.name

@description('Vault URI with a trailing slash, e.g. https://kv-attest.vault.azure.net/')
output uri string = vault.properties.vaultUri
