// API keys: created on /api-key-admin, used for a chat call, looked up on /api-key-query.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { soloStackWithBrowser, openPage, signedInPage, screenshot } from './support/browser.mjs';

let stack;
let browser;
soloStackWithBrowser((started) => ({ stack, browser } = started));

const numberOf = (text) => Number(String(text).replace(/[^\d.]/g, ''));

test('a key created in the admin page shows the same numbers on the query page', async () => {
  const admin = await signedInPage(browser, stack, '/api-key-admin');
  await admin.locator('#keys-body td.empty', { hasText: 'No API keys yet' }).waitFor();

  await admin.locator('#key-quota').fill('250');
  await admin.locator('#key-description').fill('browser test key');
  await admin.locator('#key-create').click();
  await admin.locator('#new-key-box').waitFor({ state: 'visible' });
  const key = (await admin.locator('#new-key').textContent()).trim();
  assert.match(key, /^sk-[A-Za-z0-9_-]{43}$/);
  // The store keeps the key hashed: the list names it by its id and shows its first characters.
  const { json: created } = await stack.api('GET', '/auth/keys');
  assert.equal(created.keys.length, 1);
  const id = created.keys[0].id;
  assert.match(id, /^k-[0-9a-f]{16}$/);
  assert.equal(created.keys[0].api_key, `${key.slice(0, 7)}\u2026`);
  const adminRow = admin.locator(`#keys-body tr[data-key="${id}"]`);
  await adminRow.waitFor();
  assert.doesNotMatch(await admin.locator('#keys-body').textContent(), new RegExp(key.slice(7)));
  assert.match(await adminRow.textContent(), /browser test key/);
  assert.equal(await admin.locator('#keys-count').textContent(), '1');

  // Spend some of the quota so "used" is not trivially zero.
  for (let i = 0; i < 2; i += 1) {
    const response = await fetch(stack.url + '/v1/chat/completions', {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: `call ${i}` }] }),
    });
    assert.equal(response.status, 200, await response.text());
    await response.arrayBuffer().catch(() => undefined);
  }
  const { json: listed } = await stack.api('GET', '/auth/keys');
  const record = listed.keys.find((k) => k.id === id);
  assert.ok(record.used_quota > 0, `the calls were charged: ${JSON.stringify(record)}`);
  assert.equal(record.used_quota + record.remaining_quota, 250);

  await admin.locator('#keys-refresh').click();
  await adminRow.locator('.meter-label', { hasText: `${record.used_quota} / 250` }).waitFor();
  assert.match(await adminRow.locator('td[data-label="Usage"]').textContent(), new RegExp(`${record.remaining_quota} left`));
  await screenshot(admin, 'api-key-admin-with-key-1280');

  const query = await openPage(browser);
  await query.goto(stack.url + '/api-key-query');
  await query.locator('#query-key').fill(key);
  await query.locator('#query-submit').click();
  await query.locator('#query-result').waitFor({ state: 'visible' });
  const shown = {
    total: numberOf(await query.locator('#query-total .stat-value').textContent()),
    used: numberOf(await query.locator('#query-used .stat-value').textContent()),
    remaining: numberOf(await query.locator('#query-remaining .stat-value').textContent()),
  };
  assert.deepEqual(shown, { total: 250, used: record.used_quota, remaining: record.remaining_quota });
  // The answer shows the key's first characters only.
  const masked = await query.locator('#query-result h2 code').textContent();
  assert.equal(masked, `${key.slice(0, 7)}\u2026`);
  assert.match(await query.locator('#query-result').textContent(), /browser test key/);
  const perModel = query.locator('#query-models tbody tr');
  assert.equal(await perModel.count(), Object.keys(record.model_stats).length);
  for (const [model, used] of Object.entries(record.model_stats)) {
    assert.equal(numberOf(await query.locator(`#query-models tr[data-model="${model}"] td.num`).first().textContent()), used);
  }
  await screenshot(query, 'api-key-query-result-1280');

  await query.locator('#query-key').fill('sk-not-a-real-key');
  await query.locator('#query-submit').click();
  await query.locator('#query-error', { hasText: 'No API key matches' }).waitFor();
  assert.equal(await query.locator('#query-result').isHidden(), true);

  assert.deepEqual(admin.errors, []);
  assert.deepEqual(query.errors, []);
});

test('model costs can be set and removed on the admin page', async () => {
  const admin = await signedInPage(browser, stack, '/api-key-admin');
  await admin.locator('#cost-model').fill('gemini-e2e-model');
  await admin.locator('#cost-value').fill('5');
  await admin.locator('#cost-add').click();
  const costRow = admin.locator('#costs-body tr[data-model="gemini-e2e-model"]');
  await costRow.waitFor();
  assert.equal(await costRow.locator('input[data-field="cost"]').inputValue(), '5');
  const { json } = await stack.api('GET', '/auth/models/gemini-e2e-model/cost');
  assert.deepEqual({ cost: json.cost, is_default: json.is_default }, { cost: 5, is_default: false });

  await costRow.locator('button[data-action="delete-cost"]').click();
  await admin.locator('#confirm-ok').click();
  await costRow.waitFor({ state: 'detached' });
  const after = await stack.api('GET', '/auth/models/gemini-e2e-model/cost');
  assert.equal(after.json.is_default, true);
  assert.deepEqual(admin.errors, []);
});
