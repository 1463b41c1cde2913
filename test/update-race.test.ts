/**
 * Updates of one secret that take its row lock from the start (local-store rotations) racing plain
 * renames (optimistic: version-checked at the flush). Neither kind may fail: a deadlock between a
 * rename's history entry and a rotation's row lock would be a 500.
 */
import { describe, expect, it } from 'vitest';
import { newTeamWithSecret } from './support/factories.js';
import { useApp } from './support/harness.js';

const t = useApp();

describe('locked and optimistic updates of one secret at once', () => {
  it('all succeed, each as its own version, none a 5xx', async () => {
    const { api, path } = await newTeamWithSecret(t, {
      name: 'race',
      credentials: { access_key_id: 'AKIA-RACE', secret_access_key: 'v1' },
    });
    const requests = Array.from({ length: 120 }, (_, i) =>
      i % 3 === 0
        ? api('PATCH', path, { credentials: { access_key_id: 'AKIA-RACE', secret_access_key: `r${i}` } })
        : api('PATCH', path, { name: `race-${i}` }),
    );
    const statuses = (await Promise.all(requests)).map((r) => r.status);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const history = await api('GET', `${path}/versions?limit=100&sort_order=asc`);
    const all = history.body.pagination.total as number;
    expect(all).toBe(121);
    const latest = await api('GET', path);
    expect(latest.headers.get('etag')).toBe('"121"');
  });
});
