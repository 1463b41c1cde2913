/**
 * GraphQL-over-HTTP conformance: every server audit of the `graphql-http` package, run against the
 * real server (node:http in front of Yoga) with an API key on every request.
 */
import { serverAudits } from 'graphql-http';
import { beforeAll, describe, expect, it } from 'vitest';
import { useApp } from './support/harness.js';

const t = useApp();
let key: string;
beforeAll(async () => {
  key = (await t.newTeam()).ownerKey;
});

/**
 * SHOULD and MAY audits we knowingly fail, by audit id, with the reason. A MUST never belongs here.
 *
 * Both come from graphql-yoga 5.24.1, not from our code: when the client accepts only
 * `application/json` (or sends no Accept, which Yoga answers with application/json), Yoga marks a
 * request-body parse failure as a "spec" error and answers 200 with `{"errors": [...]}`, reading the
 * spec's legacy application/json rules. Clients that accept `application/graphql-response+json` get
 * 400 for the same request (audit B7N8 passes). Changing that means second-guessing Yoga's status
 * logic for one media type; not worth it for a SHOULD/MAY.
 */
const ALLOWED_FAILURES: Record<string, string> = {
  // MAY use 400 status code when request body is missing on POST
  A5BF: 'Yoga answers an empty application/json POST body with 200 + errors (BAD_REQUEST).',
  // SHOULD use 400 status code on JSON parsing failure when accepting application/json
  BCF8: 'Yoga answers unparsable JSON with 200 + errors when the client accepts application/json.',
};

/** The audits' own fetch, with the API key added (our server needs one for every real field). */
const fetchWithKey = (input: string, init: RequestInit = {}) => {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${key}`);
  return fetch(input, { ...init, headers });
};

const audits = serverAudits({ url: () => `${t.url}/graphql`, fetchFn: fetchWithKey });

describe('graphql-http server audits', () => {
  it('covers every requirement level and allow-lists no MUST', () => {
    expect(audits.length).toBeGreaterThan(50);
    for (const id of Object.keys(ALLOWED_FAILURES)) {
      const audit = audits.find((a) => a.id === id);
      expect(audit?.name, id).toMatch(/^(SHOULD|MAY) /);
    }
  });

  for (const audit of audits) {
    it(`${audit.id}: ${audit.name}`, async () => {
      const result = await audit.fn();
      const outcome =
        result.status === 'ok' ? 'ok' : `${result.status}: ${result.reason} (HTTP ${result.response.status})`;
      if (audit.id in ALLOWED_FAILURES) {
        // Keep the list true: when an allowed failure starts passing, take it off the list.
        expect(outcome, `${audit.id} passes now: remove it from ALLOWED_FAILURES`).not.toBe('ok');
        return;
      }
      expect(outcome).toBe('ok');
    });
  }
});
