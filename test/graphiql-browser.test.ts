/**
 * GraphiQL in a real browser (Debian's chromium, driven by playwright-core): the page served on a
 * browser GET of /graphql loads (from this server only), runs an `updateSecret` rename typed into the
 * editor, and its pre-filled operation and header guidance get a new user to a successful rename.
 *
 * Skipped only where /usr/bin/chromium is missing (CI installs it in .ci/run), with a loud warning.
 */
import { existsSync } from 'node:fs';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_QUERY, GRAPHIQL_OPTIONS } from '../src/platform/graphql/graphiql.js';
import { createNativeSecret } from './support/factories.js';
import { rest, type TestTeam, useApp } from './support/harness.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(
    `\n${'!'.repeat(100)}\n!!! SKIPPING the GraphiQL browser tests: ${CHROMIUM} is not installed.\n` +
      '!!! Install it (apt-get update && apt-get install -y chromium) to run them; CI does (.ci/run).\n' +
      `${'!'.repeat(100)}\n`,
  );
}

const PLACEHOLDER_ID = '00000000-0000-0000-0000-000000000000';

const BUNDLE_MISSING =
  "GraphiQL's browser bundle is not installed, so the page loads it from unpkg.com (unreachable offline, " +
  'and a third-party script on a page that keeps API keys): the @graphql-yoga/graphiql package must be ' +
  'a dependency (src/platform/http/server.ts serves its dist/ under /graphiql/)';

const t = useApp();
let team: TestTeam;
beforeAll(async () => {
  team = await t.newTeam();
});

/** The secret as REST shows it, with its version (from the ETag). */
async function secretOverRest(secretId: string) {
  const read = await rest(t.url, team.ownerKey)('GET', `/v1/teams/${team.teamId}/secrets/${secretId}`);
  expect(read.status).toBe(200);
  return { ...read.body, version: Number(JSON.parse(read.headers.get('etag')!)) };
}

describe('the GraphiQL page', () => {
  it('is served on a browser GET of /graphql and loads its bundle from this server, not a CDN', async () => {
    const page = await fetch(`${t.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html, BUNDLE_MISSING).toContain('/graphiql/yoga-graphiql.umd.js');
    expect(html, 'no address of another host').not.toMatch(/https?:\/\//);
    const bundle = await fetch(`${t.url}/graphiql/yoga-graphiql.umd.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await bundle.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
    expect((await fetch(`${t.url}/graphiql/../package.json`)).status).toBe(404);
    expect((await fetch(`${t.url}/graphiql/nothing.js`)).status).toBe(404);
  });
});

describe.skipIf(!hasChromium)('GraphiQL in a real browser (chromium)', () => {
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    // Fail fast (not on a 30 s wait for an editor that cannot load) when the bundle is not served.
    const bundle = await fetch(`${t.url}/graphiql/yoga-graphiql.umd.js`, { method: 'HEAD' });
    if (bundle.status !== 200) throw new Error(BUNDLE_MISSING);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-quic',
        '--no-first-run',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
  });

  /** A fresh browser profile on GraphiQL, with every request the page made off this server recorded. */
  async function openGraphiQL(seedHeaders?: Record<string, string>) {
    const context = await browser.newContext();
    contexts.push(context);
    if (seedHeaders) {
      // What GraphiQL keeps from an earlier session: the headers editor's content.
      await context.addInitScript((headers) => {
        localStorage.setItem('graphiql:headers', headers);
      }, JSON.stringify(seedHeaders));
    }
    const page = await context.newPage();
    const foreign: string[] = [];
    const origin = new URL(t.url).origin;
    page.on('request', (request) => {
      const url = request.url();
      if (!url.startsWith(`${origin}/`) && !url.startsWith('blob:') && !url.startsWith('data:'))
        foreign.push(url);
    });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${t.url}/graphql`);
    const queryEditor = page.locator('.graphiql-query-editor');
    await queryEditor.locator('.view-lines').waitFor({ timeout: 30_000 });
    return { page, queryEditor, foreign, errors };
  }

  /** The text of a Monaco editor as displayed (line numbers dropped). */
  async function editorText(editor: Locator): Promise<string> {
    const lines = await editor.locator('.view-line').allInnerTexts();
    return lines.map((line) => line.replace(/\u00a0/g, ' ')).join('\n');
  }

  /** Replaces the last `length` characters before the line's closing `suffix` with `text`, as a user would. */
  async function replaceBeforeLineEnd(
    page: Page,
    line: Locator,
    suffixLength: number,
    length: number,
    text: string,
  ) {
    await line.click();
    await page.keyboard.press('End');
    for (let i = 0; i < suffixLength; i++) await page.keyboard.press('ArrowLeft');
    for (let i = 0; i < length; i++) await page.keyboard.press('Shift+ArrowLeft');
    await page.keyboard.insertText(text);
  }

  function responsePane(page: Page): Locator {
    return page.locator('.graphiql-response');
  }

  it('runs an updateSecret rename typed into the editor, with the key from stored headers', async () => {
    const secretId = (
      await createNativeSecret(t, team, {
        name: `browser-${Date.now()}`,
        credentials: { access_key_id: 'AKIABROWSER', secret_access_key: 'browser-secret-value' },
      })
    ).id;
    const before = await secretOverRest(secretId);
    const newName = `renamed-in-graphiql-${Date.now()}`;
    const { page, queryEditor, foreign, errors } = await openGraphiQL({
      Authorization: `Bearer ${team.ownerKey}`,
    });

    // Replace whatever the editor holds with the rename (one line: Monaco auto-closes typed brackets on new lines).
    await queryEditor.locator('.view-lines').click();
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText(
      `mutation RenameFromBrowser { updateSecret(teamId: "${team.teamId}", secretId: "${secretId}", input: { name: "${newName}" }) { __typename ... on UpdateSecretSuccess { secret { id name version } } ... on Error { message } } }`,
    );
    // GraphiQL has picked the operation up once the tab is named after it.
    await page.locator('.graphiql-tab-active').getByText('RenameFromBrowser').waitFor();
    await page.locator('.graphiql-execute-button').click();

    const pane = responsePane(page);
    await pane.getByText('UpdateSecretSuccess').waitFor({ timeout: 20_000 });
    const shown = await editorText(pane);
    expect(shown).toContain(`"name": "${newName}"`);
    expect(shown).toContain(`"version": ${before.version + 1}`);
    expect(shown).not.toContain('errors');

    const after = await secretOverRest(secretId);
    expect(after.name).toBe(newName);
    expect(after.version).toBe(before.version + 1);
    expect(foreign, 'the page loads nothing from other hosts').toEqual([]);
    expect(errors).toEqual([]);
  });

  it("a new user succeeds with GraphiQL's pre-filled operation and header guidance", async () => {
    const secretId = (
      await createNativeSecret(t, team, {
        name: `new-user-${Date.now()}`,
        credentials: { access_key_id: 'AKIABROWSER', secret_access_key: 'browser-secret-value' },
      })
    ).id;
    const { page, queryEditor, foreign, errors } = await openGraphiQL();

    // The pre-filled operation is DEFAULT_QUERY and the headers editor holds the guidance.
    await expect.poll(() => editorText(queryEditor)).toBe(DEFAULT_QUERY);
    await page.getByRole('button', { name: 'Headers', exact: true }).click();
    const headersEditor = page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden)');
    await expect.poll(() => editorText(headersEditor)).toBe(GRAPHIQL_OPTIONS.headers);

    // Fill the ids into the placeholders (each line ends `..."<id>"`) and the key into the header.
    for (const [field, id] of [
      ['teamId', team.teamId],
      ['secretId', secretId],
    ]) {
      const line = queryEditor.locator('.view-line', { hasText: `${field}: "${PLACEHOLDER_ID}"` });
      await replaceBeforeLineEnd(page, line, 1, PLACEHOLDER_ID.length, id);
    }
    expect(GRAPHIQL_OPTIONS.headers.endsWith('dr_..."}')).toBe(true);
    await replaceBeforeLineEnd(
      page,
      headersEditor.locator('.view-line').first(),
      2,
      'dr_...'.length,
      team.ownerKey,
    );
    // Polled: the editors render what was typed on a later frame.
    await expect
      .poll(async () => JSON.parse(await editorText(headersEditor)))
      .toEqual({ Authorization: `Bearer ${team.ownerKey}` });
    await expect.poll(() => editorText(queryEditor)).toContain(`teamId: "${team.teamId}"`);
    expect(await editorText(queryEditor)).toContain(`secretId: "${secretId}"`);

    await page.keyboard.press('Control+Enter');
    const pane = responsePane(page);
    await pane.getByText('UpdateSecretSuccess').waitFor({ timeout: 20_000 });
    const shown = await editorText(pane);
    expect(shown).toContain('"name": "renamed-secret"');
    expect(shown).toContain(`"id": "${secretId}"`);

    expect((await secretOverRest(secretId)).name).toBe('renamed-secret');
    expect(foreign, 'the page loads nothing from other hosts').toEqual([]);
    expect(errors).toEqual([]);
  });
});
