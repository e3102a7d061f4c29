// The credential list shows why a credential rests for a model (kind, Google's message, time left) and
// the admin's clear ends it, with Google's real 429 body scripted into the fake.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { startStack, credentialJson, REPO_ROOT } from './support/stack.mjs';
import { launchBrowser, openPage, login, screenshot } from './support/browser.mjs';

let stack;
let browser;
let page;

const dailyQuota = JSON.parse(readFileSync(join(REPO_ROOT, 'tests/fixtures/google_errors/429_daily_quota.json'), 'utf8'));

before(async () => {
  stack = await startStack({ credentials: { 'alpha.json': credentialJson('alpha') }, fakeControl: true });
  browser = await launchBrowser();
  page = await openPage(browser);
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

const row = () => page.locator('#creds-body tr[data-filename="alpha.json"]');

test('a daily quota shows its kind, message and time left, and clearing ends it', async () => {
  const scripted = await fetch(stack.fakeUrl + '/__fake/enqueue', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ project: 'px-alpha', reply: { error: { status: 429, body: dailyQuota } } }),
  });
  assert.equal(scripted.status, 200);
  const chat = await stack.api('POST', '/v1/chat/completions', { model: 'gemini-2.5-pro', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(chat.status, 429, chat.text);

  await page.goto(stack.url + '/');
  await login(page, stack.password);
  const cooldown = row().locator('.cooldown[data-model="gemini-2.5-pro"]');
  await cooldown.waitFor();
  assert.equal(await cooldown.getAttribute('data-kind'), 'daily_quota');
  assert.equal(await cooldown.locator('.badge').textContent(), 'daily quota');
  assert.match(await cooldown.locator('.cooldown-message').textContent(), /^Quota exceeded for metric/);
  assert.match(await cooldown.locator('.cooldown-left').textContent(), /\d/);
  await screenshot(page, 'panel-creds-cooldown-1280');

  await row().locator('button[data-action="clear_cooldown"]').click();
  await page.waitForFunction(() => !document.querySelector('#creds-body tr[data-filename="alpha.json"] .cooldown'));
  const { json } = await stack.api('GET', '/creds/status');
  assert.deepEqual(json.items[0].cooldowns, []);
  const again = await stack.api('POST', '/v1/chat/completions', { model: 'gemini-2.5-pro', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(again.status, 200, again.text);
  assert.deepEqual(page.errors, []);
});
