/**
 * Import rules, checked by `npm run lint` (dependency-cruiser). Type-only imports count: a cycle of
 * types is still a cycle a reader has to untangle.
 *
 * The layers of src/, each importing only the ones below it:
 *   main.ts, cli.ts   entry points
 *   app/              composition: builds the services, the REST routes, the GraphQL schema
 *   modules/<name>/   one feature each (entity, repository, rules, service, REST and GraphQL doors)
 *   platform/         what knows no feature: HTTP server, GraphQL builder and door, database,
 *                     credential stores, idempotency, rate limits, logging, metrics
 *   domain/           the domain's vocabulary: errors, ids, names, paging, providers, vaults, scopes
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Files depend one way: a cycle means one of them should be split or the other passed in.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-circular-folders',
      comment: 'Folders depend one way too (a module that needs another is the one that extends it).',
      severity: 'error',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'domain-imports-nothing-above',
      comment: 'domain/ is the vocabulary everything uses; it uses nothing of ours but itself.',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { path: '^src/(?!domain/)' },
    },
    {
      name: 'platform-knows-no-feature',
      comment: 'platform/ serves every module and names none: what it needs from them is passed in by app/.',
      severity: 'error',
      from: { path: '^src/platform/' },
      to: { path: '^src/(modules|app)/|^src/(main|cli)\\.ts$' },
    },
    {
      name: 'modules-do-not-import-the-app',
      comment: 'app/ composes the modules; a module that imports it would depend on every other module.',
      severity: 'error',
      from: { path: '^src/modules/' },
      to: { path: '^src/app/|^src/(main|cli)\\.ts$' },
    },
  ],
  options: {
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
  },
};
