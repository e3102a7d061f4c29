// The self-service page (/api-key-query) shows a key's limit windows: use against limit per kind and when
// each window renews, in local time; no table for a key without windows; in English and Chinese.
// One test uses a key with real limits and requests; one renders a given `windows` answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { soloStackWithBrowser, openPage, chatStatus, screenshot } from './support/browser.mjs';

let stack;
let browser;
soloStackWithBrowser((started) => ({ stack, browser } = started));

async function createKey(body) {
  const created = await stack.api('POST', '/auth/keys', body);
  assert.equal(created.status, 200, created.text);
  return created.json.api_key;
}

function chat(key) {
  return chatStatus(stack, key);
}

async function lookUp(page, key) {
  await page.goto(stack.url + '/api-key-query');
  await page.locator('#query-key').fill(key);
  await page.locator('#query-submit').click();
  await page.locator('#query-result').waitFor({ state: 'visible' });
}

/** The cells of the windows table, row by row, keyed by kind. */
function windowRows(page) {
  return page.locator('#query-windows tbody tr').evaluateAll((rows) => rows.map((tr) => ({
    window: tr.dataset.window,
    model: tr.dataset.model,
    requests: tr.querySelector('[data-kind="requests"]').textContent.trim(),
    tokens: tr.querySelector('[data-kind="tokens"]').textContent.trim(),
    cost: tr.querySelector('[data-kind="cost"]').textContent.trim(),
    renews: tr.querySelector('[data-kind="renews"]').textContent.trim(),
  })));
}

/** A time as the page shows it: local `YYYY-MM-DD HH:MM`, in the browser's time zone. */
function localText(page, iso) {
  return page.evaluate((value) => {
    const d = new Date(value);
    const pad = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }, iso);
}

test('a key without windows shows no windows table', async () => {
  const key = await createKey({ total_quota: 100, description: 'no windows' });
  const page = await openPage(browser);
  await lookUp(page, key);
  assert.equal(await page.locator('#query-windows').count(), 0);
  assert.doesNotMatch(await page.locator('#query-result').textContent(), /Limits per time window/);
  assert.deepEqual(page.errors, []);
});

test('the windows of an answer are shown with use, limit and renewal in local time, in both languages', async () => {
  const key = await createKey({ total_quota: 100, description: 'given windows' });
  const renewsMinute = new Date(Date.now() + 42_000).toISOString();
  const renewsMonth = '2027-01-01T00:00:00+00:00';
  const windows = [
    { window: '1m', model: null, used: { requests: 3, tokens: 1200, cost: 3 }, limit: { requests: 100, tokens: null, cost: null }, renews_at: renewsMinute },
    { window: 'month', model: 'gemini-2.5-pro', used: { requests: 7, tokens: 50000, cost: 70 }, limit: { requests: null, tokens: 50000, cost: 500 }, renews_at: renewsMonth },
  ];
  for (const [locale, heading, allModels] of [['en-US', 'Limits per time window', 'all models'], ['zh-CN', '时间窗口限制', '所有模型']]) {
    const page = await openPage(browser, undefined, locale);
    // The page renders what the gateway answers; here the answer is given its windows.
    await page.route('**/auth/query', async (route) => {
      const response = await route.fetch();
      const body = await response.json();
      await route.fulfill({ response, json: { ...body, windows } });
    });
    await lookUp(page, key);
    await page.locator('#query-windows').waitFor();
    assert.match(await page.locator('#query-result').textContent(), new RegExp(heading));
    const rows = await windowRows(page);
    assert.deepEqual(rows, [
      { window: '1m', model: '', requests: '3 / 100', tokens: '1,200', cost: '3', renews: await localText(page, renewsMinute) },
      { window: 'month', model: 'gemini-2.5-pro', requests: '7', tokens: '50,000 / 50,000', cost: '70 / 500', renews: await localText(page, renewsMonth) },
    ]);
    assert.match(await page.locator('#query-windows tbody tr').first().textContent(), new RegExp(allModels));
    // A kind used up is marked.
    assert.equal(await page.locator('#query-windows tr[data-window="month"] [data-kind="tokens"] .badge.danger').count(), 1);
    await screenshot(page, `keys-windows-${locale}`);
    assert.deepEqual(page.errors, []);
  }
});

test('a key with limits shows its windows after use', async () => {
  const key = await createKey({
    total_quota: 1000,
    description: 'windowed',
    limits: [{ window: '1m', requests: 100 }, { window: 'day', cost: 500, model: 'gemini-2.5-flash' }],
  });
  for (let i = 0; i < 3; i += 1) assert.equal(await chat(key), 200);
  const page = await openPage(browser);
  await lookUp(page, key);
  await page.locator('#query-windows').waitFor();
  const rows = await windowRows(page);
  const minute = rows.find((r) => r.window === '1m');
  assert.ok(minute, JSON.stringify(rows));
  assert.equal(minute.requests, '3 / 100');
  const day = rows.find((r) => r.window === 'day');
  assert.ok(day, JSON.stringify(rows));
  assert.equal(day.model, 'gemini-2.5-flash');
  const { json: record } = await stack.api('GET', `/auth/keys/${encodeURIComponent(key)}`);
  const answered = record.windows.find((w) => w.window === 'day');
  assert.equal(day.cost, `${answered.used.cost} / 500`);
  assert.equal(day.renews, await localText(page, answered.renews_at));
  assert.deepEqual(page.errors, []);
});
