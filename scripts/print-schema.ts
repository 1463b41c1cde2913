import { writeFileSync } from 'node:fs';
import { printSubgraphSdl } from '../src/app/graphql-schema.js';

/** Writes schema.graphql, the committed artifact clients and gateways review: the subgraph SDL with @oneOf. */
writeFileSync(new URL('../schema.graphql', import.meta.url), `${printSubgraphSdl()}\n`);
