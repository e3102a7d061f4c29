// A gateway still on the built-in password "pwd": the panel's first screen after logging in with it
// asks for a new password, saves it, and the old one no longer opens the panel.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startStack } from './support/stack.mjs';
import { launchBrowser, openPage, screenshot } from './support/browser.mjs';

let stack;
let browser;

before(async () => {
  // No PASSWORD at all (an undefined variable is left out of the environment): the built-in one.
  stack = await startStack({ password: 'pwd', env: { PASSWORD: undefined } });
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

test('logging in with the built-in password asks for a new one first', async () => {
  const page = await openPage(browser);
  await page.goto(stack.url + '/');
  await page.locator('#login-password').fill('pwd');
  await page.locator('#login-submit').click();
  await page.locator('#new-password-view').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#app-view').isHidden(), true, 'the panel waits for a new password');
  await screenshot(page, 'default-password');

  // Too short, then two different entries: refused in the page, nothing saved.
  await page.locator('#new-password').fill('short');
  await page.locator('#new-password-again').fill('short');
  await page.locator('#new-password-submit').click();
  await page.locator('#new-password-error').waitFor({ state: 'visible' });
  await page.locator('#new-password').fill('a-much-better-secret');
  await page.locator('#new-password-again').fill('a-different-secret');
  await page.locator('#new-password-submit').click();
  assert.match(await page.locator('#new-password-error').textContent(), /differ/);

  await page.locator('#new-password-again').fill('a-much-better-secret');
  await page.locator('#new-password-submit').click();
  await page.locator('#app-view').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#new-password-view').count(), 0);

  // The new password is the one that logs in now; "pwd" is refused.
  const login = async (password) =>
    (await fetch(stack.url + '/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ password }),
    })).status;
  assert.equal(await login('pwd'), 401);
  assert.equal(await login('a-much-better-secret'), 200);
  assert.deepEqual(page.errors, []);
});

test('a built-in password fixed by the environment is explained, and the panel opens anyway', async () => {
  const locked = await startStack({ password: 'pwd' });
  try {
    const page = await openPage(browser);
    await page.goto(locked.url + '/');
    await page.locator('#login-password').fill('pwd');
    await page.locator('#login-submit').click();
    await page.locator('#new-password').fill('a-much-better-secret');
    await page.locator('#new-password-again').fill('a-much-better-secret');
    await page.locator('#new-password-submit').click();
    await page.locator('#new-password-error').waitFor({ state: 'visible' });
    assert.match(await page.locator('#new-password-error').textContent(), /environment variable/);
    await page.locator('#new-password-later').click();
    await page.locator('#app-view').waitFor({ state: 'visible' });
    assert.deepEqual(page.errors, []);
  } finally {
    await locked.stop();
  }
});
