/** Test support: a complete, valid Azure-host environment (managed identity everywhere, real Graph). */
export const AZURE_ENV: Readonly<Record<string, string>> = {
  ATTEST_STORAGE_MODE: 'managed-identity',
  ATTEST_STORAGE_TABLE_URL: 'https://attest.table.core.windows.net',
  ATTEST_DIRECTORY_MODE: 'graph',
  ATTEST_GRAPH_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  ATTEST_GRAPH_CLIENT_ID: '0d3b0c6e-9a55-4c57-8f3e-2a9cf1b2c3d4',
  ATTEST_MAIL_SENDER: 'attest@contoso.com',
  ATTEST_BOT_APP_ID: '1a2b3c4d-0000-4000-8000-000000000001',
  ATTEST_BOT_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  ATTEST_ALLOWED_TENANTS: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  ATTEST_CATALOG_PATH: 'catalog/demo-catalog.yaml',
  ATTEST_TAB_CLIENT_ID: '5b7e2d1c-3f4a-4b8c-9d0e-1f2a3b4c5d6e',
  ATTEST_TAB_APP_ID_URI: 'api://attest.azurewebsites.net/5b7e2d1c-3f4a-4b8c-9d0e-1f2a3b4c5d6e',
};
