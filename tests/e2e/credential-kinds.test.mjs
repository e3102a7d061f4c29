// The credential list shows each credential's kind and filters by it; pasted Gemini API keys are added
// and shown masked, never whole.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startStack, credentialJson } from './support/stack.mjs';
import { launchBrowser, openPage, login, screenshot } from './support/browser.mjs';

const KEY_A = 'AIzaSyE2eKeyAlpha000001';
const KEY_B = 'AIzaSyE2eKeyBravo000002';

let stack;
let browser;
let page;

before(async () => {
  stack = await startStack({ credentials: { 'alpha.json': credentialJson('alpha') } });
  browser = await launchBrowser();
  page = await openPage(browser);
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

const rows = () => page.locator('#creds-body tr[data-filename]');

test('pasted keys are added masked, listed with their kind, and the kind filter narrows the list', async () => {
  await page.goto(stack.url + '/');
  await login(page, stack.password);
  await page.waitForFunction(() => document.querySelectorAll('#creds-body tr[data-filename]').length === 1);
  assert.equal(await page.locator('#creds-body tr[data-filename="alpha.json"] .badge[data-kind]').getAttribute('data-kind'), 'code_assist');

  await page.fill('#keys-input', `${KEY_A}\n${KEY_B}`);
  await page.click('#keys-submit');
  await page.waitForFunction(() => document.querySelectorAll('#creds-body tr[data-filename]').length === 3);
  const results = await page.locator('#keys-results').textContent();
  assert.ok(!results.includes(KEY_A) && !results.includes(KEY_B), results);
  assert.equal(await page.locator('#keys-input').inputValue(), '');

  await page.selectOption('#creds-kind-filter', 'gemini_api_key');
  await page.waitForFunction(() => document.querySelectorAll('#creds-body tr[data-filename]').length === 2);
  for (const row of await rows().all()) {
    assert.equal(await row.locator('.badge[data-kind]').getAttribute('data-kind'), 'gemini_api_key');
    const key = await row.locator('[data-field="api-key"]').textContent();
    assert.match(key, /^AIzaSy…\w{4}$/);
  }
  const body = await page.locator('#creds-body').textContent();
  assert.ok(!body.includes(KEY_A) && !body.includes(KEY_B), 'keys are never shown whole');
  await screenshot(page, 'panel-creds-kinds-1280');

  await page.selectOption('#creds-kind-filter', 'code_assist');
  await page.waitForFunction(() => document.querySelectorAll('#creds-body tr[data-filename]').length === 1);
  assert.deepEqual(page.errors, []);
});
