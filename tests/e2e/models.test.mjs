// The Models tab against a real gateway: the catalogue with each model's credentials and kinds, and the
// refresh button, which answers with a toast either way (the refetch route may not exist on every build).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startStack, credentialJson } from './support/stack.mjs';
import { launchBrowser, openPage, login, screenshot, assertNoHorizontalScroll, PHONE } from './support/browser.mjs';

let stack;
let browser;

function bucket(model, fraction) {
  const reset = new Date(Date.now() + 3600 * 1000).toISOString();
  return { modelId: model, tokenType: 'REQUESTS', remainingAmount: String(fraction * 100), remainingFraction: fraction, resetTime: reset };
}

before(async () => {
  stack = await startStack({
    credentials: { 'alpha.json': credentialJson('alpha'), 'beta.json': credentialJson('beta') },
    env: { BASE_MODELS: 'my-extra-model' },
    fakeControl: true,
  });
  // alpha's quota names a model the gateway never heard of; beta's names nothing (its list is unknown).
  const scripted = await fetch(stack.fakeUrl + '/__fake/quota', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ project: 'px-alpha', buckets: [bucket('gemini-9-flash', 0.4), bucket('gemini-2.5-pro', 0.8)] }),
  });
  assert.equal(scripted.status, 200, await scripted.text());
  const refreshed = await stack.api('POST', '/creds/quota/refresh', {});
  assert.equal(refreshed.status, 200, refreshed.text);
  // The scout rebuilds the catalogue on its next tick after a fetch.
  for (let i = 0; ; i++) {
    const catalogue = await stack.api('GET', '/models/catalogue');
    if (catalogue.json && catalogue.json.models.some((m) => m.id === 'gemini-9-flash')) break;
    assert.ok(i < 100, 'the catalogue never listed the fetched model');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

test('the catalogue route answers the models with their credentials', async () => {
  const answer = await stack.api('GET', '/models/catalogue');
  assert.equal(answer.status, 200, answer.text);
  const ids = answer.json.models.map((m) => m.id);
  assert.ok(ids.includes('gemini-2.5-pro'), ids.join(','));
  assert.equal(ids[ids.length - 1], 'my-extra-model');
  const pro = answer.json.models.find((m) => m.id === 'gemini-2.5-pro');
  assert.equal(pro.source, 'live');
  assert.deepEqual(pro.credentials.slice().sort(), ['alpha.json', 'beta.json']);
  assert.deepEqual(pro.kinds, ['code_assist']);
  const nine = answer.json.models.find((m) => m.id === 'gemini-9-flash');
  assert.equal(nine.source, 'live');
  assert.equal(nine.credential_count, 2, 'beta has no list yet, so it serves every model');
  assert.equal(nine.quota.known, 1);
  assert.equal(nine.quota.mean_remaining_fraction, 0.4);
  assert.equal(answer.json.refresh_seconds, 3600);
  const anonymous = await fetch(stack.url + '/models/catalogue');
  assert.equal(anonymous.status, 401);
});

test('the Models tab lists the models and the credentials serving them', async () => {
  const page = await openPage(browser);
  await page.goto(stack.url + '/');
  await login(page, stack.password);
  await page.locator('#tab-models').click();
  assert.equal(await page.locator('#tab-models').getAttribute('aria-selected'), 'true');
  const pro = page.locator('#models-body tr[data-id="gemini-2.5-pro"]');
  await pro.waitFor();
  const text = await pro.textContent();
  assert.match(text, /alpha\.json/);
  assert.match(text, /beta\.json/);
  assert.match(text, /2 credential\(s\)/);
  assert.match(text, /From Google/);
  assert.match(text, /1 of 1 with quota · mean 80% left/);
  const nine = page.locator('#models-body tr[data-id="gemini-9-flash"]');
  assert.match(await nine.textContent(), /mean 40% left/);
  const builtIn = page.locator('#models-body tr[data-id="gemini-3-pro-preview"]');
  assert.match(await builtIn.textContent(), /Built-in list/);
  assert.match(text, /Code Assist/);
  assert.match(text, /1,048,576 \/ 65,536/);
  const extra = page.locator('#models-body tr[data-id="my-extra-model"]');
  assert.match(await extra.textContent(), /BASE_MODELS/);
  const flash = page.locator('#models-body tr[data-id="gemini-3.5-flash"]');
  assert.match(await flash.textContent(), /gemini-3-flash/);
  assert.match(await page.locator('#models-refresh-note').textContent(), /3,600 s/);
  await screenshot(page, 'panel-models-1280');

  await page.locator('#models-refresh').click();
  await page.locator('[data-testid="toast"]').first().waitFor();
  assert.equal(await page.locator('#models-refresh').isDisabled(), false);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('the Models tab fits a phone', async () => {
  const page = await openPage(browser, PHONE);
  await page.goto(stack.url + '/#models');
  await login(page, stack.password);
  await page.locator('#models-body tr[data-id="gemini-2.5-pro"]').waitFor();
  await assertNoHorizontalScroll(assert, page, 'the Models tab at 390 px');
  await screenshot(page, 'panel-models-390');
  await page.context().close();
});
