/** What each benchmark workload sends. Every request targets a random team's random secret. */
import type { RequestSpec } from 'autocannon';
import type { Fixture, SeededTeam } from './seed.js';

export type ServerKind = 'product' | 'ceiling' | 'ceiling-tx';

export interface Workload {
  id: string;
  label: string;
  server: ServerKind;
  /** Product servers only. */
  store?: 'local' | 'ssm';
  request(fixture: Fixture, runTag: string): RequestSpec;
  bodyOk?: (body: string) => boolean;
  /** Minimum ratio to the ceiling's requests/s (targets from the issue; context only, not asserted). */
  targetRatio?: number;
  /** Counted in the report's ratio/latency columns as the reference. */
  reference?: boolean;
  /** Extra context row, not one of the six workloads. */
  extra?: boolean;
}

function pick(fixture: Fixture): { team: SeededTeam; secretId: string } {
  const team = fixture.teams[Math.floor(Math.random() * fixture.teams.length)];
  return { team, secretId: team.secretIds[Math.floor(Math.random() * team.secretIds.length)] };
}

const JSON_HEADERS = { 'content-type': 'application/json' };

/** A unique name per request (unique across workloads and runs too: `runTag` differs). */
function namer(runTag: string): () => string {
  let counter = 0;
  return () => `${runTag}-${(counter++).toString(36)}`;
}

function restRename(fixture: Fixture, runTag: string): RequestSpec {
  const next = namer(runTag);
  return {
    method: 'PATCH',
    setupRequest(req) {
      const { team, secretId } = pick(fixture);
      req.path = `/v1/teams/${team.teamId}/secrets/${secretId}`;
      req.headers = { ...JSON_HEADERS, authorization: team.authorization };
      req.body = JSON.stringify({ name: next() });
      return req;
    },
  };
}

/** The GraphQL rename every GraphQL workload sends. */
export const UPDATE_SECRET = `mutation Rename($teamId: ID!, $secretId: ID!, $name: String!) {
  updateSecret(teamId: $teamId, secretId: $secretId, input: { name: $name }) {
    __typename
    ... on UpdateSecretSuccess { secret { id name version updatedAt } }
    ... on Error { message }
  }
}`;

export const WORKLOADS: Workload[] = [
  {
    id: 'rest-rename',
    label: 'REST PATCH rename',
    server: 'product',
    store: 'local',
    request: restRename,
    targetRatio: 0.15,
  },
  {
    id: 'graphql-rename',
    label: 'GraphQL updateSecret rename',
    server: 'product',
    store: 'local',
    targetRatio: 0.12,
    request(fixture, runTag) {
      const next = namer(runTag);
      return {
        method: 'POST',
        path: '/graphql',
        setupRequest(req) {
          const { team, secretId } = pick(fixture);
          req.headers = { ...JSON_HEADERS, authorization: team.authorization };
          req.body = JSON.stringify({
            query: UPDATE_SECRET,
            variables: { teamId: team.teamId, secretId, name: next() },
          });
          return req;
        },
      };
    },
    bodyOk: (body) => body.includes('"UpdateSecretSuccess"') && !body.includes('"errors"'),
  },
  {
    id: 'rest-rotate-local',
    label: 'REST rotation (local store)',
    server: 'product',
    store: 'local',
    request: rotate,
  },
  {
    id: 'rest-rotate-ssm',
    label: 'REST rotation (ssm store, fake SSM)',
    server: 'product',
    store: 'ssm',
    request: rotate,
    targetRatio: 0.12,
  },
  {
    id: 'rest-get',
    label: 'REST GET secret detail',
    server: 'product',
    store: 'local',
    targetRatio: 1.5,
    request(fixture) {
      return {
        method: 'GET',
        setupRequest(req) {
          const { team, secretId } = pick(fixture);
          req.path = `/v1/teams/${team.teamId}/secrets/${secretId}`;
          req.headers = { authorization: team.authorization };
          return req;
        },
      };
    },
  },
  {
    id: 'ceiling',
    label: 'Ceiling: bare node:http + pg rename',
    server: 'ceiling',
    request: restRename,
    reference: true,
  },
  {
    id: 'ceiling-tx',
    label: '(extra) Ceiling with the product’s SQL shape',
    server: 'ceiling-tx',
    request: restRename,
    extra: true,
  },
];

function rotate(fixture: Fixture, runTag: string): RequestSpec {
  const next = namer(runTag);
  return {
    method: 'PATCH',
    setupRequest(req) {
      const { team, secretId } = pick(fixture);
      const n = next();
      req.path = `/v1/teams/${team.teamId}/secrets/${secretId}`;
      req.headers = { ...JSON_HEADERS, authorization: team.authorization };
      req.body = JSON.stringify({
        credentials: { access_key_id: `AKIA${n}`, secret_access_key: `rotated-${n}-${Math.random()}` },
      });
      return req;
    },
  };
}
