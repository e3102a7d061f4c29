// The control panel against a real gateway: login, upload, disable, hot config, live logs, usage.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startStack, credentialJson } from './support/stack.mjs';
import { launchBrowser, openPage, login, screenshot } from './support/browser.mjs';
import { zip } from './support/zip.mjs';

let stack;
let browser;
let page;

before(async () => {
  stack = await startStack();
  browser = await launchBrowser();
  page = await openPage(browser);
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

const row = (name) => page.locator(`#creds-body tr[data-filename="${name}"]`);

test('a wrong password is refused and the right one opens the panel', async () => {
  await page.goto(stack.url + '/');
  await page.locator('#login-view').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#app-view').isHidden(), true);

  await page.locator('#login-password').fill('not-the-password');
  await page.locator('#login-submit').click();
  await page.locator('#login-error').waitFor({ state: 'visible' });
  assert.match(await page.locator('#login-error').textContent(), /Wrong password/);

  await login(page, stack.password);
  assert.equal(await page.locator('#tab-creds').getAttribute('aria-selected'), 'true');
  await page.locator('#creds-body td.empty', { hasText: 'No credentials yet' }).waitFor();
  assert.equal(await page.locator('#logout').isVisible(), true);
});

test('a ZIP of two credentials lists both', async () => {
  const archive = zip([
    { name: 'alpha.json', data: credentialJson('alpha') },
    { name: 'beta.json', data: credentialJson('beta') },
  ]);
  await page.locator('#upload-input').setInputFiles({ name: 'pair.zip', mimeType: 'application/zip', buffer: archive });
  await page.locator('#upload-submit').click();

  await row('alpha.json').waitFor();
  await row('beta.json').waitFor();
  const results = page.locator('#upload-results li');
  assert.equal(await results.count(), 2);
  for (const name of ['alpha.json', 'beta.json']) {
    assert.equal(await page.locator(`#upload-results li[data-filename="${name}"] .badge`).textContent(), 'ok');
  }
  assert.match(await page.locator('#upload-summary').textContent(), /2 of 2/);
  assert.equal(await page.locator('#creds-stat-total .stat-value').textContent(), '2');
  assert.match(await row('alpha.json').textContent(), /px-alpha/);
  await screenshot(page, 'panel-creds-uploaded-1280');
});

test('disabling a credential shows it disabled, the other stays enabled', async () => {
  await row('alpha.json').locator('button[data-action="disable"]').click();
  await row('alpha.json').locator('.badge.danger', { hasText: 'Disabled' }).waitFor();
  await row('alpha.json').locator('button[data-action="enable"]').waitFor();
  assert.match(await row('alpha.json').textContent(), /disabled by hand/);
  assert.equal(await row('beta.json').locator('.badge.ok', { hasText: 'Enabled' }).count(), 1);
  assert.equal(await page.locator('#creds-stat-disabled .stat-value').textContent(), '1');

  const { json } = await stack.api('GET', '/creds/status?status_filter=disabled');
  assert.deepEqual(json.items.map((i) => i.filename), ['alpha.json']);

  await page.locator('#creds-status-filter').selectOption('enabled');
  await page.locator('#creds-body tr[data-filename]').first().waitFor();
  await page.waitForFunction(() => document.querySelectorAll('#creds-body tr[data-filename]').length === 1);
  assert.equal(await row('beta.json').count(), 1);
  await page.locator('#creds-status-filter').selectOption('all');
  await row('alpha.json').waitFor();
});

test('a file that is not a credential is reported, the others are kept', async () => {
  await page.locator('#upload-input').setInputFiles([
    { name: 'broken.json', mimeType: 'application/json', buffer: Buffer.from('{"client_id": "c"}') },
    { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a credential') },
  ]);
  await page.locator('#upload-submit').click();
  await page.locator('#upload-results li[data-filename="broken.json"] .badge.danger').waitFor();
  assert.match(await page.locator('#upload-results li[data-filename="notes.txt"]').textContent(), /only \.json and \.zip/);
  assert.match(await page.locator('#upload-summary').textContent(), /Upload failed: no valid credential/);
  assert.equal(await page.locator('#creds-stat-total .stat-value').textContent(), '2');
});

test('batch actions work on the selected rows; delete asks first', async () => {
  await page.locator('#creds-select-all').check();
  await page.locator('#creds-bulkbar').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#creds-selected-count').textContent(), '2 selected');
  await page.locator('#creds-bulkbar [data-batch="enable"]').click();
  await row('alpha.json').locator('button[data-action="disable"]').waitFor();
  assert.equal(await page.locator('#creds-stat-disabled .stat-value').textContent(), '0');

  await row('alpha.json').locator('button[data-action="disable"]').click();
  await row('alpha.json').locator('.badge.danger', { hasText: 'Disabled' }).waitFor();

  // Cancelling the confirmation keeps the credential.
  await row('beta.json').locator('button[data-action="delete"]').click();
  await page.locator('#confirm-cancel').click();
  assert.equal(await row('beta.json').count(), 1);

  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#creds-download-all').click()]);
  assert.equal(download.suggestedFilename(), 'credentials.zip');
});

test('a hot config key saved in the panel takes effect at once', async () => {
  await page.locator('#tab-config').click();
  const input = page.locator('#cfg-calls_per_rotation');
  await input.waitFor();
  assert.equal(await page.locator('.config-item[data-key="calls_per_rotation"] .badge.info').textContent(), 'hot');
  const before = Number(await input.inputValue());
  const wanted = before + 7;

  await input.fill(String(wanted));
  await page.locator('#config-save').click();
  await page.locator('#config-hot-updated', { hasText: 'calls_per_rotation' }).waitFor();

  const { status, json } = await stack.api('GET', '/config/get');
  assert.equal(status, 200);
  assert.equal(json.config.calls_per_rotation, wanted);
  assert.ok(json.hot_keys.includes('calls_per_rotation'));
  // The form reloads from the server after saving.
  await page.waitForFunction((v) => document.querySelector('#cfg-calls_per_rotation')?.value === String(v), wanted);
  await screenshot(page, 'panel-config-saved-1280');
});

test('a chat request shows up in the live log view', async () => {
  await page.locator('#tab-logs').click();
  await page.locator('#log-status[data-state="on"]').waitFor();
  // Recent lines are replayed on connect: the gateway's start-up is there already.
  await page.locator('#log-view .log-line', { hasText: 'listening on' }).waitFor();

  // Streaming anti-truncation retries an answer without the end marker and logs each retry:
  // a line only this request can produce.
  const marker = 'anti-truncation: answer for gemini-2.5-pro ended without the marker';
  assert.equal(await page.locator('#log-view .log-line', { hasText: marker }).count(), 0);
  const response = await fetch(stack.url + '/v1/chat/completions', {
    method: 'POST',
    headers: { Authorization: `Bearer ${stack.password}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      model: '流式抗截断/gemini-2.5-pro',
      stream: true,
      messages: [{ role: 'user', content: 'Say hello' }],
    }),
  });
  assert.equal(response.status, 200);
  const body = await response.text();
  assert.match(body, /Chunk 1 of 3 from the fake/);
  assert.match(body, /data: \[DONE\]/);

  const line = page.locator('#log-view .log-line', { hasText: marker }).first();
  await line.waitFor();
  assert.match(await line.textContent(), /^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\] \[INFO\] /);
  assert.match(await line.getAttribute('class'), /lv-info/);

  // The minimum-level filter hides INFO lines.
  await page.locator('#log-level').selectOption('WARN');
  assert.equal(await page.locator('#log-view .log-line', { hasText: marker }).count(), 0);
  await page.locator('#log-level').selectOption('INFO');
  await line.waitFor();
  await screenshot(page, 'panel-logs-live-1280');
});

test('the usage tab shows the calls the gateway counted', async () => {
  const { json } = await stack.api('GET', '/usage/stats');
  const beta = json.data['beta.json'];
  assert.ok(beta.total_calls >= 1, `beta.json served the chat: ${JSON.stringify(beta)}`);

  await page.locator('#tab-usage').click();
  const usageRow = page.locator('#usage-body tr[data-filename="beta.json"]');
  await usageRow.waitFor();
  assert.equal(await usageRow.locator('td[data-label="All models"]').textContent(), String(beta.total_calls));
  assert.equal(await page.locator('#usage-total-files .stat-value').textContent(), '2');
  assert.equal(await page.locator('#usage-total-calls .stat-value').textContent(), String(beta.total_calls));
  await screenshot(page, 'panel-usage-1280');
});

test('a session the server no longer accepts returns to the login form', async () => {
  await page.goto(stack.url + '/');
  await page.evaluate(() => sessionStorage.setItem('gcli2api.panelToken', 'expired-or-forged-token'));
  await page.reload();
  await page.locator('#login-error', { hasText: 'session has ended' }).waitFor();
  assert.equal(await page.locator('#app-view').isHidden(), true);
  await login(page, stack.password);
  await row('beta.json').waitFor();
});

test('logging out returns to the login form and drops the session', async () => {
  await page.locator('#logout').click();
  await page.locator('#login-view').waitFor({ state: 'visible' });
  assert.equal(await page.evaluate(() => sessionStorage.getItem('gcli2api.panelToken')), null);
  assert.deepEqual(page.errors, []);
});
