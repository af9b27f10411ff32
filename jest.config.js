/** Jest runs the TypeScript sources through ts-jest; integration tests start their own Azurite and simulator. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }],
    // NB. jose 6 ships ES modules only. Node (>= 20.19) requires them natively, but Jest's module loader does
    // not: its files are transpiled to CommonJS for the tests. So is strip-bom 5, which @microsoft/app-manifest
    // (the Teams manifest schema validator, test/unit/app-package.test.ts) requires.
    '/node_modules/(jose|strip-bom)/.+\\.js$': [
      'ts-jest',
      { tsconfig: { allowJs: true, module: 'commonjs', target: 'ES2022' }, diagnostics: false },
    ],
  },
  transformIgnorePatterns: [
    '/node_modules/(?!(jose|strip-bom|@microsoft/app-manifest/node_modules/strip-bom)/)',
  ],
  testTimeout: 60000,
  maxWorkers: 2,
};
