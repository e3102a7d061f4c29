// The panel's Audit view against the real gateway: admin actions done over HTTP are listed with their
// action, who and target, the action filter narrows the list, "Older" pages back in time, the export
// downloads a CSV, and the view is in Chinese for a Chinese browser.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startStack, credentialJson } from './support/stack.mjs';
import { launchBrowser, openPage, login, screenshot } from './support/browser.mjs';

let stack;
let browser;

async function admin(path, body) {
  const response = await fetch(stack.url + path, {
    method: 'POST',
    headers: { Authorization: `Bearer ${stack.password}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return JSON.parse(text);
}

async function auditCount(query = '') {
  const response = await fetch(stack.url + '/audit?limit=1000' + query, {
    headers: { Authorization: `Bearer ${stack.password}` },
  });
  const body = await response.json();
  return body.entries.length;
}

before(async () => {
  stack = await startStack({ credentials: { 'a.json': credentialJson('a') } });
  browser = await launchBrowser();
  const created = await admin('/auth/keys', { total_quota: 10, description: 'audit e2e' });
  assert.ok(created.api_key.startsWith('sk-'));
  await admin('/creds/action', { filename: 'a.json', action: 'disable' });
  // 55 saves of a model cost: more than one page of 50.
  for (let cost = 1; cost <= 55; cost++) await admin('/auth/models/costs', { model_name: 'gemini-2.5-pro', cost });
  // Entries are written by a background task: wait until all are stored.
  for (let i = 0; i < 100 && (await auditCount()) < 57; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(await auditCount(), 57);
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

test('the Audit view lists, filters, pages and exports admin actions', async () => {
  const page = await openPage(browser);
  // Opened on the default tab: the Audit view loads when first shown, after the login's entry is stored.
  await page.goto(stack.url + '/');
  await login(page, stack.password);
  // The login's entry is written by the background task too: wait until it is stored.
  for (let i = 0; i < 100 && (await auditCount('&action=login')) < 1; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(await auditCount('&action=login'), 1);
  await page.locator('#tab-audit').click();
  const rows = page.locator('#audit-body tr[data-action]');
  await rows.first().waitFor();
  // Newest first, one page of 50, the login of this browser session on top.
  assert.equal(await rows.count(), 50);
  assert.equal(await rows.first().getAttribute('data-action'), 'login');
  assert.equal(await page.locator('#audit-newer').isDisabled(), true);
  await page.locator('#audit-older').click();
  await page.locator('#audit-page').filter({ hasText: '2' }).waitFor();
  await page.waitForFunction(() => document.querySelectorAll('#audit-body tr[data-action]').length === 8);
  assert.equal(await rows.last().getAttribute('data-action'), 'key_created');
  // A key is named by its id (the store keeps no key to mask).
  assert.match(await rows.last().textContent(), /k-[0-9a-f]{16}/);
  assert.doesNotMatch(await rows.last().textContent(), /sk-[A-Za-z0-9_-]{40}/);
  await page.locator('#audit-newer').click();
  await page.waitForFunction(() => document.querySelectorAll('#audit-body tr[data-action]').length === 50);

  await page.locator('#audit-action').selectOption('credential_disabled');
  await page.waitForFunction(() => document.querySelectorAll('#audit-body tr[data-action]').length === 1);
  const disabled = rows.first();
  assert.equal(await disabled.getAttribute('data-action'), 'credential_disabled');
  assert.match(await disabled.textContent(), /a\.json/);
  assert.match(await disabled.textContent(), /Credential disabled/);
  assert.match(await disabled.textContent(), /127\.0\.0\.1/);
  await screenshot(page, 'audit-desktop');

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.locator('#audit-export-csv').click(),
  ]);
  assert.equal(download.suggestedFilename(), 'audit.csv');
  const path = await download.path();
  const { readFileSync } = await import('node:fs');
  const csv = readFileSync(path, 'utf8');
  assert.match(csv, /^time,actor,address,action,target,changes\r\n/);
  assert.match(csv, /credential_disabled,a\.json/);
  assert.equal(csv.trim().split('\r\n').length, 2);
  assert.deepEqual(page.errors, []);
});

test('the Audit view speaks Chinese to a Chinese browser', async () => {
  const page = await openPage(browser, undefined, 'zh-CN');
  await page.goto(stack.url + '/#audit');
  await login(page, stack.password);
  await page.locator('#tab-audit').click();
  await page.locator('#audit-body tr[data-action]').first().waitFor();
  assert.equal((await page.locator('#tab-audit').textContent()).trim(), '审计');
  assert.equal((await page.locator('#audit-export-csv').textContent()).trim(), '导出 CSV');
  await page.locator('#audit-action').selectOption('key_created');
  await page.waitForFunction(() => document.querySelectorAll('#audit-body tr[data-action]').length === 1);
  assert.match(await page.locator('#audit-body tr[data-action]').first().textContent(), /创建密钥/);
  assert.deepEqual(page.errors, []);
});
