/** The dependency rule: dependencies point inward (docs: ../shared/ARCHITECTURE.md, "Layout"). */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment: 'src/domain imports nothing outside src/domain: no packages, no Node built-ins, no adapters.',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { pathNot: '^src/domain/' },
    },
    {
      name: 'ports-depend-on-domain-only',
      comment: 'src/ports describe what the domain needs; they may name domain types and nothing else.',
      severity: 'error',
      from: { path: '^src/ports/' },
      to: { pathNot: '^src/(ports|domain)/' },
    },
    {
      name: 'workflows-do-not-reach-adapters',
      comment:
        'workflows import domain and ports (and durable-functions); adapters are wired in src/functions and src/local.',
      severity: 'error',
      from: { path: '^src/workflows/' },
      to: { path: '^src/(adapters|local|functions|cli)/' },
    },
    {
      name: 'adapters-do-not-reach-the-hosts',
      comment:
        'adapters implement ports; the hosts (src/functions, src/local) and the CLI wire adapters together, never the other way round.',
      severity: 'error',
      from: { path: '^src/adapters/' },
      to: { path: '^src/(functions|local|cli)/' },
    },
    {
      name: 'production-code-does-not-import-the-local-host',
      comment:
        'Only src/local and src/cli may mount the local host; the Azure entry point must not pull it in.',
      severity: 'error',
      from: { path: '^src/(domain|ports|workflows|adapters|functions|config)/' },
      to: { path: '^src/local/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
  },
};
