// Log Analytics workspace and a workspace-based Application Insights component.
// Local (instrumentation key) auth is switched off: the function app sends telemetry with its managed
// identity, which needs Monitoring Metrics Publisher on the component (see role-assignments.bicep).

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Log Analytics workspace name.')
param workspaceName string

@description('Application Insights component name.')
param appInsightsName string

@description('Days Log Analytics keeps data.')
@minValue(30)
@maxValue(730)
param retentionInDays int = 90

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      enableLogAccessUsingOnlyResourcePermissions: true
    }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
    IngestionMode: 'LogAnalytics'
  }
}

@description('Application Insights resource id (scope of the Monitoring Metrics Publisher assignment).')
output appInsightsId string = appInsights.id

@description('Application Insights name.')
output appInsightsName string = appInsights.name

@description('Connection string for APPLICATIONINSIGHTS_CONNECTION_STRING (not a secret: it carries no key).')
output connectionString string = appInsights.properties.ConnectionString
