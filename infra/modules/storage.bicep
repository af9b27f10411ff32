// The one storage account behind Attest: Attest's tables, the Durable Functions task hub (tables, queues,
// lease blobs), the Flex Consumption deployment package, and the WORM container that anchors the audit digests
// and keeps evidence bundles (ATTEST_EVIDENCE_CONTAINER).
// Shared keys are disabled: every client (the Functions host, Durable Functions, Attest, deployment)
// authenticates with Microsoft Entra ID.

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Storage account name: 3-24 lowercase letters and digits, globally unique.')
@minLength(3)
@maxLength(24)
param storageAccountName string

@description('Redundancy. ZRS survives a zone outage; LRS is cheapest.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param skuName string = 'Standard_ZRS'

@description('Tables Attest keeps its data in, created up front. Attest and Durable Functions create any others on first use.')
param tableNames array = [
  'AuditLog'
]

@description('Blob container the Flex Consumption plan deploys the app package to.')
param deploymentContainerName string = 'app-package'

@description('Blob container (ATTEST_EVIDENCE_CONTAINER) anchoring the audit digests (one write-once blob per digest) and keeping evidence bundles. It carries a time-based retention (WORM) policy.')
param evidenceContainerName string = 'attest-evidence'

@description('Days a digest blob cannot be changed or deleted after it is written.')
@minValue(1)
@maxValue(146000)
param auditRetentionDays int = 2555

@description('Set to true once the WORM policy has been locked (az storage container immutability-policy lock). A locked policy can only be extended, so the template stops declaring it.')
param auditPolicyLocked bool = false

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowCrossTenantReplication: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
          keyType: 'Account'
        }
        file: {
          enabled: true
          keyType: 'Account'
        }
        table: {
          enabled: true
          keyType: 'Account'
        }
        queue: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource evidenceContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: evidenceContainerName
  properties: {
    publicAccess: 'None'
  }
}

// NB. ARM creates a container-level time-based retention policy Unlocked (its `state` is read-only; locking is
// the separate `lock` action with the policy's ETag, docs/deploy.md step 4): unlocked, it already blocks
// overwrites and deletes, but an account owner could still delete the policy. Lock it once the retention
// period is right; locking is irreversible, and from then on deploy with auditPolicyLocked=true. No append
// writes of any kind: Attest writes each digest and bundle file as a new block blob, never appends or overwrites.
resource evidenceRetention 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = if (!auditPolicyLocked) {
  parent: evidenceContainer
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: auditRetentionDays
    allowProtectedAppendWrites: false
    allowProtectedAppendWritesAll: false
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for tableName in tableNames: {
    parent: tableService
    name: tableName
  }
]

@description('Storage account name (AzureWebJobsStorage__accountName).')
output name string = storage.name

@description('Storage account resource id.')
output id string = storage.id

// NB. primaryEndpoints end with a slash; these do not, the form ATTEST_STORAGE_TABLE_URL and ATTEST_STORAGE_BLOB_URL document.
@description('Table endpoint, e.g. https://<account>.table.core.windows.net')
output tableEndpoint string = 'https://${storage.name}.table.${environment().suffixes.storage}'

@description('Blob endpoint, e.g. https://<account>.blob.core.windows.net')
output blobEndpoint string = 'https://${storage.name}.blob.${environment().suffixes.storage}'

@description('Blob URL of the Flex Consumption deployment container.')
output deploymentContainerUrl string = '${storage.properties.primaryEndpoints.blob}${deploymentContainer.name}'

@description('Name of the WORM container for digest anchors and evidence bundles (ATTEST_EVIDENCE_CONTAINER).')
output evidenceContainerName string = evidenceContainer.name
