// Every page at phone width (390 px) without horizontal scrolling, before and after logging in and on
// every panel tab; screenshots of each at 1280 px and 390 px go to tests/e2e/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startStack, credentialJson } from './support/stack.mjs';
import { launchBrowser, openPage, login, screenshot, assertNoHorizontalScroll, DESKTOP, PHONE } from './support/browser.mjs';

let stack;
let browser;
let apiKey;
let apiKeyId;

const SIZES = [['1280', DESKTOP], ['390', PHONE]];

before(async () => {
  // Long names and values are what break narrow layouts, so the fixtures have some.
  stack = await startStack({
    credentials: {
      'a-rather-long-credential-file-name-for-layout-checks@example-project-123456.json': credentialJson('long'),
      'short.json': credentialJson('short'),
    },
  });
  const created = await stack.api('POST', '/auth/keys', {
    total_quota: 123456,
    description: 'A key with a long description that has to wrap on a narrow phone screen without pushing the page wider',
    allowed_models: ['gemini-2.5-pro', '假流式/gemini-2.5-flash', '流式抗截断/gemini-2.5-pro'],
    max_concurrent: 3,
  });
  assert.equal(created.status, 200, created.text);
  apiKey = created.json.api_key;
  apiKeyId = created.json.id;
  const chat = await fetch(stack.url + '/v1/chat/completions', {
    method: 'POST',
    headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'gemini-2.5-pro', messages: [{ role: 'user', content: 'hello' }] }),
  });
  assert.equal(chat.status, 200, await chat.text());
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

const PUBLIC_PAGES = [
  ['panel-login', '/', '#login-view'],
  ['auth', '/auth', '#oauth-start'],
  ['api-key-admin-login', '/api-key-admin', '#login-view'],
  ['api-key-query', '/api-key-query', '#query-form'],
];

for (const [name, path, ready] of PUBLIC_PAGES) {
  test(`${path} fits a phone screen`, async () => {
    for (const [label, viewport] of SIZES) {
      const page = await openPage(browser, viewport);
      await page.goto(stack.url + path);
      await page.locator(ready).waitFor({ state: 'visible' });
      await assertNoHorizontalScroll(assert, page, `${path} at ${label} px`);
      await screenshot(page, `${name}-${label}`);
      assert.deepEqual(page.errors, []);
      await page.context().close();
    }
  });
}

// What shows each tab has loaded its data.
const PANEL_TABS = [
  ['oauth', '#oauth-start'],
  ['creds', '#creds-body tr[data-filename="short.json"]'],
  ['config', '#cfg-calls_per_rotation'],
  ['usage', '#usage-body tr[data-filename="short.json"]'],
  ['requests', '#req-body tr'],
  ['logs', '#log-status[data-state="on"]'],
];

test('every panel tab fits a phone screen after logging in', async () => {
  for (const [label, viewport] of SIZES) {
    const page = await openPage(browser, viewport);
    await page.goto(stack.url + '/');
    await login(page, stack.password);
    for (const [tab, ready] of PANEL_TABS) {
      await page.locator(`#tab-${tab}`).click();
      await page.locator(ready).first().waitFor();
      if (tab === 'oauth') {
        // The second step, with the long consent link, is the widest state of the tab.
        await page.locator('#oauth-start').click();
        await page.locator('#oauth-url').waitFor();
      }
      if (tab === 'logs') await page.locator('#log-view .log-line').first().waitFor();
      await assertNoHorizontalScroll(assert, page, `panel tab ${tab} at ${label} px`);
      await screenshot(page, `panel-${tab}-${label}`);
    }
    assert.deepEqual(page.errors, []);
    await page.context().close();
  }
});

test('the API-key pages fit a phone screen with a key shown', async () => {
  for (const [label, viewport] of SIZES) {
    const admin = await openPage(browser, viewport);
    await admin.goto(stack.url + '/api-key-admin');
    await login(admin, stack.password);
    // The list names a key by its id (the store keeps only its hash).
    await admin.locator(`#keys-body tr[data-key="${apiKeyId}"]`).waitFor();
    await admin.locator('#costs-body tr[data-model]').first().waitFor();
    await admin.locator('#key-advanced summary').click();
    await assertNoHorizontalScroll(assert, admin, `/api-key-admin logged in at ${label} px`);
    await screenshot(admin, `api-key-admin-${label}`);

    const query = await openPage(browser, viewport);
    await query.goto(stack.url + '/api-key-query');
    await query.locator('#query-key').fill(apiKey);
    await query.locator('#query-submit').click();
    await query.locator('#query-models').waitFor();
    await assertNoHorizontalScroll(assert, query, `/api-key-query with a result at ${label} px`);
    await screenshot(query, `api-key-query-result-${label}`);
    assert.deepEqual([...admin.errors, ...query.errors], []);
    await admin.context().close();
    await query.context().close();
  }
});
