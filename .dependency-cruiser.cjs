/**
 * Import rules, checked by `npm run lint` (dependency-cruiser). Type-only imports count: a cycle of
 * types is still a cycle a reader has to untangle.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Modules depend one way: a cycle means one of them should be split or the other passed in.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
  },
};
