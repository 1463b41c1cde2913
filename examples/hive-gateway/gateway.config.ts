/**
 * Hive Gateway in front of the secrets subgraph. `npx hive-gateway supergraph` loads this file from the
 * directory it runs in (see README.md here).
 */
import { defineConfig } from '@graphql-hive/gateway';
import { useRedactInputValues } from '../../src/platform/graphql/redact-input-values.js';

export const gatewayConfig = defineConfig({
  // The gateway checks variables against the supergraph before our subgraph sees the request, and
  // graphql-js quotes a bad value (a credential, say) in its error message: cut it out.
  plugins: () => [useRedactInputValues()],
  // Our subgraph authorizes every request itself: pass the caller's API key on.
  propagateHeaders: {
    fromClientToSubgraphs: ({ request }) => ({ authorization: request.headers.get('authorization') }),
  },
});
