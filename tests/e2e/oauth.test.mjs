// Google onboarding: the gateway catches Google's redirect at /oauth2callback and the page, polling
// /auth/status, finishes the sign-in by itself (status code_received → POST /auth/callback).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startStack } from './support/stack.mjs';
import { launchBrowser, openPage, login, screenshot } from './support/browser.mjs';

let stack;
let browser;

before(async () => {
  stack = await startStack({
    authCodes: { 'code-public': 'rt-public', 'code-panel': 'rt-panel', 'code-retry': 'rt-retry', 'code-elsewhere': 'rt-elsewhere' },
  });
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

/** Starts the flow on the page and returns the state and redirect URI of the consent link. */
async function startFlow(page) {
  await page.locator('#oauth-start').click();
  await page.locator('#oauth-step-authorise').waitFor({ state: 'visible' });
  const consent = new URL(await page.locator('#oauth-url').getAttribute('href'));
  return { state: consent.searchParams.get('state'), redirect: consent.searchParams.get('redirect_uri') };
}

/** What Google does after consent: sends the browser to the redirect URI with a code. */
async function googleRedirect(redirect, state, code) {
  // The consent link names localhost and the gateway's port; the gateway listens on 127.0.0.1.
  const path = new URL(redirect).pathname;
  const response = await fetch(`${stack.url}${path}?state=${encodeURIComponent(state)}&code=${encodeURIComponent(code)}`);
  return { status: response.status, text: await response.text() };
}

const flowStatus = async (state) => (await stack.api('GET', `/auth/status/${state}`)).json.status;

async function credentialNames() {
  const { json } = await stack.api('GET', '/creds/status');
  return json.items.map((i) => i.filename);
}

test('the public page saves the credential once the gateway caught the code', async () => {
  const page = await openPage(browser);
  await page.goto(stack.url + '/auth');
  const { state, redirect } = await startFlow(page);
  assert.ok(state && state.length >= 32, `state: ${state}`);
  assert.equal(new URL(redirect).pathname, '/oauth2callback');
  assert.equal(await flowStatus(state), 'pending');

  const caught = await googleRedirect(redirect, state, 'code-public');
  assert.equal(caught.status, 200);
  assert.match(caught.text, /Authentication successful/);

  // No click: the page sees code_received and completes the flow.
  await page.locator('#oauth-success').waitFor({ timeout: 15000 });
  const file = (await page.locator('#oauth-saved-file').textContent()).trim();
  assert.match(file, /\.json$/);
  assert.match(await page.locator('#oauth-success').textContent(), /detected automatically/);
  assert.equal(await flowStatus(state), 'completed');
  assert.ok((await credentialNames()).includes(file));
  await screenshot(page, 'auth-completed-1280');
  assert.deepEqual(page.errors, []);
});

test('the panel OAuth tab finishes with the button and lists the new credential', async () => {
  const page = await openPage(browser);
  await page.goto(stack.url + '/#oauth');
  await login(page, stack.password);
  await page.locator('#tab-oauth[aria-selected="true"]').waitFor();
  await page.locator('#oauth-project-id').fill('chosen-project');
  const { state, redirect } = await startFlow(page);

  // "I have authorised" waits on the server for the code, which arrives while it waits.
  await page.locator('#oauth-callback').click();
  await googleRedirect(redirect, state, 'code-panel');
  await page.locator('#oauth-success').waitFor({ timeout: 15000 });
  assert.match(await page.locator('#oauth-success').textContent(), /chosen-project/);

  await page.locator('#tab-creds').click();
  await page.locator('#creds-body tr[data-filename^="chosen-project-"]').waitFor();
  assert.deepEqual(page.errors, []);
});

test('a refused code shows the error and the same link can be retried', async () => {
  const page = await openPage(browser);
  await page.goto(stack.url + '/auth');
  await page.locator('#oauth-project-id').fill('retry-project');
  const { state, redirect } = await startFlow(page);

  await googleRedirect(redirect, state, 'code-google-does-not-know');
  await page.locator('#oauth-result .notice.danger', { hasText: 'Google refused the sign-in code' }).waitFor({ timeout: 15000 });
  assert.equal(await flowStatus(state), 'pending');

  // The person signs in again with the same link; the page is still watching.
  const again = await googleRedirect(redirect, state, 'code-retry');
  assert.equal(again.status, 200);
  await page.locator('#oauth-success').waitFor({ timeout: 15000 });
  assert.match(await page.locator('#oauth-success').textContent(), /retry-project/);
  assert.deepEqual(page.errors, []);
});

test('a flow finished elsewhere or unknown to the server stops the waiting', async () => {
  const page = await openPage(browser);
  await page.goto(stack.url + '/auth');
  await page.locator('#oauth-project-id').fill('elsewhere-project');
  const { state } = await startFlow(page);
  const pasted = await stack.api('POST', '/auth/callback-url', {
    callback_url: `http://localhost:1/oauth2callback?state=${state}&code=code-elsewhere`,
  });
  assert.equal(pasted.status, 200, pasted.text);
  await page.locator('#oauth-wait', { hasText: 'completed elsewhere' }).waitFor({ timeout: 10000 });
  assert.equal(await page.locator('#oauth-callback').isDisabled(), true);

  const other = await openPage(browser);
  await other.goto(stack.url + '/auth');
  // As after a gateway restart: the server no longer knows the state.
  await other.route('**/auth/status/*', (route) =>
    route.fulfill({ status: 200, contentType: 'application/json', body: '{"status":"not_found"}' }));
  await startFlow(other);
  await other.locator('#oauth-wait', { hasText: 'expired' }).waitFor({ timeout: 10000 });
  assert.equal(await other.locator('#oauth-callback').isDisabled(), true);
  assert.deepEqual([...page.errors, ...other.errors], []);
});
