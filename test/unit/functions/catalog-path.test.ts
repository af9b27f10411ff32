/**
 * Where a host finds its catalog: in Azure the packaged file under the app root (catalog/catalog.yaml by
 * default), whatever the worker's working directory; locally the path as typed, from the working directory.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../src/config/config';
import { appRoot } from '../../../src/functions/app-root';
import { catalogFilePath, requireCatalogFile } from '../../../src/functions/catalog-in-use';
import { AZURE_ENV } from '../../support/azure-env';

let app: string;
beforeAll(() => {
  // A deployed package's shape: host.json at the root, the compiled code under dist/src/functions.
  app = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-app-root-'));
  fs.writeFileSync(path.join(app, 'host.json'), '{"version":"2.0"}');
  fs.mkdirSync(path.join(app, 'dist', 'src', 'functions'), { recursive: true });
  fs.mkdirSync(path.join(app, 'catalog'));
  fs.writeFileSync(path.join(app, 'catalog', 'catalog.yaml'), 'id: x\n');
});
afterAll(() => fs.rmSync(app, { recursive: true, force: true }));

test('the app root is the nearest folder up with a host.json', () => {
  expect(appRoot(path.join(app, 'dist', 'src', 'functions'))).toBe(app);
  expect(appRoot(path.join(__dirname, '..', '..', '..', 'src', 'functions'))).toBe(
    path.resolve(__dirname, '..', '..', '..'),
  );
});

test('in Azure the catalog defaults to catalog/catalog.yaml, resolved against the app root, not the working directory', () => {
  const { ATTEST_CATALOG_PATH: _demo, ...env } = AZURE_ENV;
  const config = loadConfig(env, 'azure');
  expect(config.catalogPath).toBe('catalog/catalog.yaml');
  expect(process.cwd()).not.toBe(app);
  expect(catalogFilePath(config, app)).toBe(path.join(app, 'catalog', 'catalog.yaml'));
  expect(requireCatalogFile(config, app)).toBe(path.join(app, 'catalog', 'catalog.yaml'));
  // An absolute path is taken as it is.
  expect(catalogFilePath({ host: 'azure', catalogPath: '/mnt/catalog.yaml' }, app)).toBe('/mnt/catalog.yaml');
});

test('locally a relative catalog path is resolved against the working directory, as typed', () => {
  const config = loadConfig({}, 'local');
  expect(catalogFilePath(config, app)).toBe(path.resolve('catalog/demo-catalog.yaml'));
});

test('a catalog that is not there stops the start with the setting, its value and the resolved path', () => {
  expect(() => requireCatalogFile({ host: 'azure', catalogPath: 'catalog/prod.yaml' }, app)).toThrow(
    `config: ATTEST_CATALOG_PATH is "catalog/prod.yaml", which resolves to ${path.join(app, 'catalog', 'prod.yaml')}, and there is no file there. Deploy the package \`npm run package\` builds (it holds the catalog at catalog/catalog.yaml, the default), or set ATTEST_CATALOG_PATH to a file inside the package, relative to its root`,
  );
  // A folder is not a catalog either.
  expect(() => requireCatalogFile({ host: 'azure', catalogPath: 'catalog' }, app)).toThrow(
    /^config: ATTEST_CATALOG_PATH is "catalog", which resolves to \S+, and there is no file there/,
  );
});
