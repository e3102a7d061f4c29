// The key editor on /api-key-admin (creating a key with limits, rpm, tpm and addresses; editing it through
// `PATCH /auth/keys/{id}`) and the usage export button of the panel, against a real gateway.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';

import { soloStackWithBrowser, signedInPage, chatStatus, screenshot } from './support/browser.mjs';

let stack;
let browser;
soloStackWithBrowser((started) => ({ stack, browser } = started));

async function adminPage() {
  const page = await signedInPage(browser, stack, '/api-key-admin');
  await page.locator('#keys-body tr').first().waitFor();
  return page;
}

/** The key just created through the form (shown once). */
async function createdKey(page) {
  await page.locator('#new-key-box').waitFor({ state: 'visible' });
  return (await page.locator('#new-key').textContent()).trim();
}

async function keyRecord(key) {
  const answer = await stack.api('GET', `/auth/keys/${encodeURIComponent(key)}`);
  assert.equal(answer.status, 200, answer.text);
  return answer.json;
}

/** Fills the limit row `index` (0-based) of the editor. */
async function fillLimit(page, index, { window, requests, tokens, cost, model }) {
  const row = page.locator('#key-limits-body tr.limit-row').nth(index);
  await row.locator('select[data-field="window"]').selectOption(window);
  for (const [field, value] of Object.entries({ requests, tokens, cost, model })) {
    await row.locator(`[data-field="${field}"]`).fill(value == null ? '' : String(value));
  }
}

/** The label the gateway gives a key in the request history and the export. */
// A key's id: `k-` and the first 16 hex digits of its SHA-256.
function label(key) {
  return 'k-' + createHash('sha256').update(key).digest('hex').slice(0, 16);
}

function chat(key, model = 'gemini-2.5-flash') {
  return chatStatus(stack, key, { model });
}

test('the editor creates a key with the existing fields and lists it', async () => {
  const page = await adminPage();
  await page.locator('#key-quota').fill('300');
  await page.locator('#key-description').fill('editor basics');
  await page.locator('#key-advanced summary').click();
  await page.locator('#key-models').fill('gemini-2.5-flash, gemini-2.5-pro');
  await page.locator('#key-concurrency').fill('3');
  await page.locator('#key-create').click();
  const key = await createdKey(page);
  const record = await keyRecord(key);
  assert.equal(record.total_quota, 300);
  assert.equal(record.description, 'editor basics');
  assert.deepEqual(record.allowed_models, ['gemini-2.5-flash', 'gemini-2.5-pro']);
  assert.equal(record.max_concurrent, 3);
  // Nothing left over in the form for the next key.
  assert.equal(await page.locator('#key-description').inputValue(), '');
  assert.equal(await page.locator('#key-limits-body tr').count(), 0);
  // A limit row without any figure is refused before anything is sent.
  await page.locator('#key-limit-add').click();
  await page.locator('#key-create').click();
  await page.locator('.toast', { hasText: 'needs a number of requests' }).waitFor();
  await page.locator('#key-limits-body button[data-action="remove-limit"]').click();
  assert.equal(await page.locator('#key-limits-body tr').count(), 0);
  assert.deepEqual(page.errors, []);
});

test('the editor creates a key with limits, rpm, tpm and addresses', async () => {
  const page = await adminPage();
  await page.locator('#key-quota').fill('5000');
  await page.locator('#key-description').fill('limited');
  await page.locator('#key-advanced summary').click();
  await page.locator('#key-rpm').fill('60');
  await page.locator('#key-tpm').fill('100000');
  await page.locator('#key-ips').fill('127.0.0.1/32\n10.0.0.0/8');
  await page.locator('#key-limit-add').click();
  await fillLimit(page, 0, { window: 'day', cost: 200 });
  await page.locator('#key-limit-add').click();
  await fillLimit(page, 1, { window: '1h', requests: 50, tokens: 90000, model: 'gemini-2.5-pro' });
  await page.locator('#key-create').click();
  const key = await createdKey(page);
  const record = await keyRecord(key);
  assert.equal(record.rpm, 60);
  assert.equal(record.tpm, 100000);
  assert.deepEqual(record.allowed_ips, ['127.0.0.1/32', '10.0.0.0/8']);
  const limits = record.limits.map((l) => ({ window: l.window, requests: l.requests ?? null, tokens: l.tokens ?? null, cost: l.cost ?? null, model: l.model ?? null }));
  assert.deepEqual(limits, [
    { window: 'day', requests: null, tokens: null, cost: 200, model: null },
    { window: '1h', requests: 50, tokens: 90000, cost: null, model: 'gemini-2.5-pro' },
  ]);
  // The list shows the limits.
  await page.locator('#keys-refresh').click();
  const row = page.locator('#keys-body tr', { hasText: 'limited' });
  await row.locator('.limit-summary', { hasText: '200' }).waitFor();
  assert.match(await row.textContent(), /Requests per minute 60/);
  await screenshot(page, 'keys-editor-created-1280');
  assert.deepEqual(page.errors, []);
});

test('the editor edits a key\'s limits and fields', async () => {
  const created = await stack.api('POST', '/auth/keys', {
    total_quota: 1000, description: 'to edit', rpm: 10, limits: [{ window: '1m', requests: 5 }],
  });
  assert.equal(created.status, 200, created.text);
  const key = created.json.api_key;
  const id = created.json.id || key;
  const keysBefore = (await stack.api('GET', '/auth/keys')).json.keys.length;
  const page = await adminPage();
  const row = page.locator('#keys-body tr', { hasText: 'to edit' });
  await row.locator('button[data-action="edit"]').click();
  // The editor reads the key first, then fills the form and names its button: wait for that.
  await page.locator('#key-create', { hasText: 'Save changes' }).waitFor();
  // The form holds the key's values.
  assert.equal(await page.locator('#key-quota').inputValue(), '1000');
  assert.equal(await page.locator('#key-rpm').inputValue(), '10');
  assert.equal(await page.locator('#key-limits-body tr.limit-row').count(), 1);
  assert.equal(await page.locator('#key-limits-body select').inputValue(), '1m');
  assert.equal(await page.locator('#key-create').textContent(), 'Save changes');

  await page.locator('#key-quota').fill('2000');
  await page.locator('#key-description').fill('edited');
  await page.locator('#key-rpm').fill('');
  await page.locator('#key-tpm').fill('5000');
  await fillLimit(page, 0, { window: 'month', cost: 900 });
  await page.locator('#key-limit-add').click();
  await fillLimit(page, 1, { window: '7d', tokens: 123456 });
  await page.locator('#key-ips').fill('192.168.0.0/16');
  await page.locator('#key-create').click();
  await page.locator('.toast', { hasText: 'Key updated.' }).waitFor();
  // Back to creating; no key was shown, none created.
  assert.equal(await page.locator('#key-create').textContent(), 'Create key');
  assert.equal(await page.locator('#new-key-box').isVisible(), false);

  const record = await keyRecord(id);
  assert.equal(record.total_quota, 2000);
  assert.equal(record.description, 'edited');
  assert.equal(record.rpm ?? null, null);
  assert.equal(record.tpm, 5000);
  assert.deepEqual(record.allowed_ips, ['192.168.0.0/16']);
  assert.deepEqual(record.limits.map((l) => [l.window, l.requests ?? null, l.tokens ?? null, l.cost ?? null]), [
    ['month', null, null, 900],
    ['7d', null, 123456, null],
  ]);
  assert.equal((await stack.api('GET', '/auth/keys')).json.keys.length, keysBefore, 'an edit creates no key');
  assert.deepEqual(page.errors, []);
});

test('the usage export button downloads the CSV of tokens per key, model and day', async () => {
  const created = await stack.api('POST', '/auth/keys', { total_quota: 1000, description: 'exported' });
  assert.equal(created.status, 200, created.text);
  const key = created.json.api_key;
  for (let i = 0; i < 3; i += 1) assert.equal(await chat(key), 200);

  const page = await signedInPage(browser, stack, '/#usage');
  await page.locator('#usage-export-csv').waitFor({ state: 'visible' });
  // The export reads what the gateway has recorded; wait until the three calls are in it.
  const expected = async () => {
    const answer = await stack.api('GET', '/usage/export?format=json');
    return answer.json.rows.reduce((n, r) => n + r.requests, 0);
  };
  for (let i = 0; i < 50 && (await expected()) < 3; i += 1) await new Promise((r) => setTimeout(r, 100));

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.locator('#usage-export-csv').click(),
  ]);
  assert.match(download.suggestedFilename(), /^usage-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv$/);
  const csv = readFileSync(await download.path(), 'utf8');
  const lines = csv.trim().split('\r\n');
  assert.equal(lines[0], 'day,key,model,requests,input_tokens,output_tokens,cached_tokens,thinking_tokens,cost');
  const rows = lines.slice(1).map((l) => l.split(','));
  const mine = rows.filter((r) => r[1] === label(key));
  assert.deepEqual(mine.map((r) => r[2]), ['gemini-2.5-flash'], csv);
  assert.equal(Number(mine[0][3]), 3, csv);
  const record = await keyRecord(key);
  assert.equal(Number(mine[0][8]), record.used_quota, csv);
  assert.ok(Number(mine[0][4]) > 0 && Number(mine[0][5]) > 0, csv);
  assert.equal(csv.includes(key), false, 'the export never holds a key');
  assert.deepEqual(page.errors, []);
});
