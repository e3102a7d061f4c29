// Each credential's quota in the credential list (a bar per model bucket, the time to reset, the
// snapshot's age, a refresh button), the pool summary above the list and its "Refresh all quota", the
// per-model clear of a cooldown, in English and Chinese and at phone width. Google's quota answers are
// scripted into the fake through /__fake/quota.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { startStack, credentialJson, REPO_ROOT } from './support/stack.mjs';
import { launchBrowser, openPage, login, screenshot, assertNoHorizontalScroll, PHONE } from './support/browser.mjs';

let stack;
let browser;

const dailyQuota = JSON.parse(readFileSync(join(REPO_ROOT, 'tests/fixtures/google_errors/429_daily_quota.json'), 'utf8'));
const HOUR = 3600 * 1000;

before(async () => {
  // Only fetched at start, after 429s and on demand, so what the page shows changes when the test says.
  stack = await startStack({
    credentials: { 'alpha.json': credentialJson('alpha'), 'beta.json': credentialJson('beta') },
    fakeControl: true,
    env: { QUOTA_REFRESH_SECONDS: '0' },
  });
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

async function fake(path, body) {
  const answer = await stack.control(path, body);
  assert.equal(answer.status, 200, answer.text);
}

function bucket(modelId, fraction, amount, resetInMs) {
  return { modelId, tokenType: 'REQUESTS', remainingFraction: fraction, remainingAmount: String(amount), resetTime: new Date(Date.now() + resetInMs).toISOString() };
}

const quotaRow = (page, name) => page.locator(`#creds-body tr[data-quota-for="${name}"]`);
const bar = (page, name, model) => quotaRow(page, name).locator(`.quota-bucket[data-model="${model}"]`);
const poolRow = (page, model) => page.locator(`#quota-pool-body tr[data-model="${model}"]`);

async function text(locator) {
  return (await locator.textContent()).trim();
}

test('one model of a cooling credential is cleared on its own', async () => {
  // Both credentials answer the daily-quota 429 for each model, so each rests for both.
  for (const model of ['gemini-2.5-pro', 'gemini-2.5-flash']) {
    for (const project of ['px-alpha', 'px-beta']) await fake('enqueue', { project, reply: { error: { status: 429, body: dailyQuota } } });
    const chat = await stack.api('POST', '/v1/chat/completions', { model, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(chat.status, 429, chat.text);
  }
  const page = await openPage(browser);
  await page.goto(stack.url + '/');
  await login(page, stack.password);
  const alpha = page.locator('#creds-body tr[data-filename="alpha.json"]');
  await alpha.locator('.cooldown[data-model="gemini-2.5-flash"]').waitFor();
  await screenshot(page, 'quota-cooldown-per-model-1280');
  await alpha.locator('.cooldown[data-model="gemini-2.5-pro"] button[data-action="clear_model"]').click();
  await page.waitForFunction(() => !document.querySelector('#creds-body tr[data-filename="alpha.json"] .cooldown[data-model="gemini-2.5-pro"]'));
  assert.equal(await alpha.locator('.cooldown[data-model="gemini-2.5-flash"]').count(), 1);

  const { json } = await stack.api('GET', '/creds/status');
  const rests = Object.fromEntries(json.items.map((item) => [item.filename, item.cooldowns.map((c) => c.model).sort()]));
  assert.deepEqual(rests, { 'alpha.json': ['gemini-2.5-flash'], 'beta.json': ['gemini-2.5-flash', 'gemini-2.5-pro'] });
  // The rest of the test reads quota, not cooldowns.
  for (const filename of ['alpha.json', 'beta.json']) {
    assert.equal((await stack.api('POST', '/creds/action', { filename, action: 'clear_cooldown' })).status, 200);
  }
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('a credential refreshes its quota, the pool sums it up, and refreshing all shows the change', async () => {
  await fake('quota', { project: 'px-alpha', buckets: [bucket('gemini-2.5-pro', 0.25, 25, 3 * HOUR)] });
  await fake('quota', { project: 'px-beta', buckets: [bucket('gemini-2.5-pro', 0.75, 75, 5 * HOUR)] });
  await fake('credits', { project: 'px-alpha', amount: 1200 });

  const page = await openPage(browser);
  await page.goto(stack.url + '/');
  await login(page, stack.password);
  await quotaRow(page, 'alpha.json').waitFor();
  // Scripted after the start-up fetch, so nothing is known yet.
  await page.locator('#quota-pool-body td.empty').waitFor();
  assert.equal(await text(page.locator('#quota-pool-scope')), 'All 2 credentials.');

  await quotaRow(page, 'alpha.json').locator('button[data-quota-refresh]').click();
  const pro = bar(page, 'alpha.json', 'gemini-2.5-pro');
  await pro.waitFor();
  assert.equal(await text(pro.locator('.quota-pct')), '25%');
  assert.equal(await text(pro.locator('.quota-amount')), '25 / 100');
  assert.equal(await pro.locator('[role="progressbar"]').getAttribute('aria-valuenow'), '25');
  assert.match(await text(pro.locator('.quota-reset')), /^resets in (2 h 5\d|3 h 0) min$/);
  assert.match(await text(quotaRow(page, 'alpha.json').locator('.quota-age')), /^fetched \d+ s ago$/);
  assert.match(await text(quotaRow(page, 'alpha.json').locator('.quota-credits')), /^Credits: GOOGLE_ONE_AI: 1,200$/);
  // Beta was not refreshed, so the pool knows one credential for the model.
  assert.equal(await text(poolRow(page, 'gemini-2.5-pro').locator('.quota-pct')), '25%');
  assert.equal(await text(poolRow(page, 'gemini-2.5-pro').locator('.quota-count')), '1 of 1');
  assert.match(await text(poolRow(page, 'gemini-2.5-pro').locator('.quota-next')), /^in (2 h 5\d|3 h 0) min$/);
  assert.equal(await bar(page, 'beta.json', 'gemini-2.5-pro').count(), 0);
  await screenshot(page, 'quota-refreshed-1280');

  await fake('quota', { project: 'px-alpha', buckets: [bucket('gemini-2.5-pro', 0.5, 50, 3 * HOUR), bucket('gemini-2.5-flash', 0.8, 800, 2 * HOUR)] });
  await fake('quota', { project: 'px-beta', buckets: [bucket('gemini-2.5-pro', 0, 0, HOUR)] });
  await page.locator('#quota-refresh-all').click();
  await page.waitForFunction(() => {
    const pct = document.querySelector('#creds-body tr[data-quota-for="alpha.json"] .quota-bucket[data-model="gemini-2.5-pro"] .quota-pct');
    return pct && pct.textContent === '50%';
  });
  const empty = bar(page, 'beta.json', 'gemini-2.5-pro');
  assert.equal(await text(empty.locator('.quota-pct')), '0%');
  assert.equal(await empty.locator('.bar-fill').getAttribute('class'), 'bar-fill danger');
  assert.match(await text(empty.locator('.quota-reset')), /^resets in (59 min|1 h 0 min)$/);
  await poolRow(page, 'gemini-2.5-flash').waitFor();
  assert.equal(await text(poolRow(page, 'gemini-2.5-pro').locator('.quota-pct')), '25%');
  assert.equal(await text(poolRow(page, 'gemini-2.5-pro').locator('.quota-count')), '1 of 2');
  assert.match(await text(poolRow(page, 'gemini-2.5-pro').locator('.quota-next')), /^in (59 min|1 h 0 min)$/);
  assert.equal(await text(poolRow(page, 'gemini-2.5-flash').locator('.quota-pct')), '80%');
  assert.equal(await text(poolRow(page, 'gemini-2.5-flash').locator('.quota-count')), '1 of 1');
  await screenshot(page, 'quota-refreshed-all-1280');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('a failing quota call shows its error and the age of the last good snapshot', async () => {
  await fake('quota', { project: 'px-beta', fail_status: 500 });
  const page = await openPage(browser);
  await page.goto(stack.url + '/');
  await login(page, stack.password);
  await bar(page, 'beta.json', 'gemini-2.5-pro').waitFor();
  await quotaRow(page, 'beta.json').locator('button[data-quota-refresh]').click();
  const age = quotaRow(page, 'beta.json').locator('.quota-age');
  await age.locator('.quota-error').waitFor();
  assert.match(await text(age), /^fetch failed .+ · last good snapshot \d+ (s|min) ago$/);
  // The last good snapshot stays on show.
  assert.equal(await text(bar(page, 'beta.json', 'gemini-2.5-pro').locator('.quota-pct')), '0%');
  await fake('quota', { project: 'px-beta', fail_status: null });
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

/** Visible text in the quota parts that is two English words in a row, outside code (model and type names). */
function englishLeft(page) {
  return page.evaluate(() => {
    const out = [];
    for (const root of document.querySelectorAll('#quota-pool, #creds-body tr.quota-row')) {
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const value = node.textContent.trim();
        if (value && !node.parentElement.closest('code') && /[A-Za-z]{2,}\s+[A-Za-z]{2,}/.test(value.replace(/\b(Google|Code Assist)\b/g, ''))) out.push(value);
      }
      for (const el of root.querySelectorAll('[aria-label], [title]')) {
        for (const name of ['aria-label', 'title']) {
          const value = el.getAttribute(name) || '';
          if (/[A-Za-z]{2,}\s+[A-Za-z]{2,}/.test(value)) out.push(value);
        }
      }
    }
    return out;
  });
}

test('the quota in Chinese, and at phone width', async () => {
  for (const [label, viewport] of [['1280', undefined], ['390', PHONE]]) {
    const page = await openPage(browser, viewport, 'zh-CN');
    await page.goto(stack.url + '/');
    await login(page, stack.password);
    const pro = bar(page, 'alpha.json', 'gemini-2.5-pro');
    await pro.waitFor();
    await poolRow(page, 'gemini-2.5-pro').waitFor();
    assert.equal(await text(page.locator('#quota-refresh-all')), '刷新全部配额');
    assert.equal(await text(quotaRow(page, 'alpha.json').locator('button[data-quota-refresh]')), '刷新配额');
    assert.equal(await text(page.locator('#quota-pool h2')), '凭证池配额');
    assert.equal(await text(page.locator('#quota-pool-scope')), '全部 2 个凭证。');
    assert.match(await text(pro.locator('.quota-reset')), /^(2 小时 5\d|3 小时 0) 分钟后重置$/);
    assert.match(await text(quotaRow(page, 'alpha.json').locator('.quota-age')), /^\d+ (秒|分钟)前获取$/);
    assert.equal(await text(poolRow(page, 'gemini-2.5-pro').locator('.quota-count')), '1 个（共 2 个）');
    assert.match(await text(poolRow(page, 'gemini-2.5-pro').locator('.quota-next')), /^(59 分钟|1 小时 0 分钟)后$/);
    assert.deepEqual(await englishLeft(page), []);
    await assertNoHorizontalScroll(assert, page, `quota in zh-CN at ${label} px`);
    await screenshot(page, `quota-zh-CN-${label}`);
    assert.deepEqual(page.errors, []);
    await page.context().close();
  }
  const phone = await openPage(browser, PHONE);
  await phone.goto(stack.url + '/');
  await login(phone, stack.password);
  await bar(phone, 'alpha.json', 'gemini-2.5-flash').waitFor();
  await assertNoHorizontalScroll(assert, phone, 'quota in English at 390 px');
  await screenshot(phone, 'quota-en-390');
  assert.deepEqual(phone.errors, []);
  await phone.context().close();
});
