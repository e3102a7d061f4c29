// The panel's Requests view and token chart against a real gateway and a scripted fake Google: a plain
// success and a 429 failover are listed, the failover's trace names both credentials and the 429's kind,
// and the usage tab's token chart shows today's tokens.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startStack, credentialJson } from './support/stack.mjs';
import { launchBrowser, openPage, login, screenshot } from './support/browser.mjs';

let stack;
let browser;

async function control(path, body) {
  const response = await fetch(stack.fakeUrl + '/__fake/' + path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 200, await response.text());
}

async function chat() {
  const response = await fetch(stack.url + '/v1/chat/completions', {
    method: 'POST',
    headers: { Authorization: `Bearer ${stack.password}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'gemini-2.5-pro', messages: [{ role: 'user', content: 'hi' }] }),
  });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return response.headers.get('x-request-id');
}

before(async () => {
  stack = await startStack({
    fakeControl: true,
    credentials: { 'a.json': credentialJson('a'), 'b.json': credentialJson('b') },
    env: { CALLS_PER_ROTATION: '100', RETRY_429_INTERVAL: '0' },
  });
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

test('the Requests view lists a failover and its trace names both credentials and the 429 kind', async () => {
  await control('enqueue', { project: 'px-a', reply: { text: 'first', usage: { promptTokenCount: 30, candidatesTokenCount: 12, totalTokenCount: 42 } } });
  const plain = await chat();
  const reset = new Date(Date.now() + 10 * 60 * 1000).toISOString();
  await control('enqueue', {
    project: 'px-a',
    reply: { error: { status: 429, body: { error: { code: 429, status: 'RESOURCE_EXHAUSTED', message: 'quota',
      details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'QUOTA_EXHAUSTED', metadata: { quotaResetTimeStamp: reset } }] } } } },
  });
  await control('enqueue', { project: 'px-b', reply: { text: 'second', usage: { promptTokenCount: 20, candidatesTokenCount: 8, totalTokenCount: 28 } } });
  const failover = await chat();
  assert.ok(plain && failover && plain !== failover);

  const page = await openPage(browser);
  await page.goto(stack.url + '/#requests');
  await login(page, stack.password);
  await page.locator('#tab-requests').click();
  const failoverRow = page.locator(`#req-body tr[data-id="${failover}"]`);
  // A request is recorded once its answer has been sent; refresh until both are listed.
  for (let i = 0; i < 50 && (await failoverRow.count()) === 0; i++) {
    await page.locator('#req-refresh').click();
    await page.waitForTimeout(100);
  }
  await failoverRow.waitFor();
  await page.locator(`#req-body tr[data-id="${plain}"]`).waitFor();
  assert.match(await failoverRow.textContent(), /gemini-2\.5-pro/);
  assert.match(await failoverRow.textContent(), /b\.json/);

  await failoverRow.locator('button[data-action="open"]').click();
  const attempts = page.locator('#trace-attempts tbody tr');
  await attempts.first().waitFor();
  assert.equal(await attempts.count(), 2);
  assert.equal(await attempts.nth(0).getAttribute('data-credential'), 'a.json');
  assert.equal(await attempts.nth(0).locator('.trace-kind').textContent(), 'daily_quota');
  assert.match(await attempts.nth(0).textContent(), /429/);
  assert.match(await attempts.nth(0).textContent(), /RESOURCE_EXHAUSTED \/ QUOTA_EXHAUSTED/);
  assert.equal(await attempts.nth(1).getAttribute('data-credential'), 'b.json');
  assert.equal(await attempts.nth(1).locator('.trace-kind').textContent(), 'ok');
  assert.match(await page.locator('#trace-summary').textContent(), /200/);
  await screenshot(page, 'requests-trace-1280');

  // Filters: the credential that failed is on both requests, the one that answered the failover on one.
  await page.locator('#req-credential').fill('b.json');
  await page.locator('#req-apply').click();
  await page.locator(`#req-body tr[data-id="${plain}"]`).waitFor({ state: 'detached' });
  assert.equal(await page.locator('#req-body tr[data-id]').count(), 1);
  await page.locator('#req-credential').fill('');
  await page.locator('#req-status').selectOption('error');
  await page.locator('#req-body td.empty').waitFor();

  // The usage tab's token chart: today's column holds both requests' tokens (30+12 and 20+8).
  await page.locator('#tab-usage').click();
  const today = new Date().toISOString().slice(0, 10);
  const column = page.locator('#chart-tokens svg rect.bar-rect title', { hasText: today });
  await column.waitFor({ state: 'attached' });
  assert.equal(await column.textContent(), `${today}: 70`);
  await page.locator('#tok-series').selectOption('m:gemini-2.5-pro');
  assert.equal(await page.locator('#chart-tokens svg rect.bar-rect title', { hasText: today }).textContent(), `${today}: 70`);
  assert.match(await page.locator('#chart-tokens-models').textContent(), /gemini-2\.5-pro/);
  await screenshot(page, 'usage-tokens-1280');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});
