import { writeFileSync } from 'node:fs';
import { printSchema } from 'graphql';
import { printableSchema } from '../src/graphql/schema.js';

/** Writes schema.graphql, the committed artifact clients and gateways review. */
writeFileSync(new URL('../schema.graphql', import.meta.url), `${printSchema(printableSchema())}\n`);
