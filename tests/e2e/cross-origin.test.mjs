// A page on another origin (a site the operator happens to visit) must not be able to read the panel,
// nor drive it with the panel password, while browser chat apps on other origins can still call the
// client API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';

import { startStack, credentialJson } from './support/stack.mjs';
import { launchBrowser, openPage } from './support/browser.mjs';

let stack;
let browser;
let hostile;
let hostileUrl;

before(async () => {
  stack = await startStack({ credentials: { 'solo.json': credentialJson('solo') } });
  browser = await launchBrowser();
  // "localhost" on its own port: a different origin from the gateway's 127.0.0.1.
  hostile = createServer((_, response) => {
    response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    response.end('<!doctype html><title>somewhere else</title><p>hello</p>');
  });
  await new Promise((done) => hostile.listen(0, '127.0.0.1', done));
  hostileUrl = `http://localhost:${hostile.address().port}/`;
});

after(async () => {
  if (browser) await browser.close();
  if (hostile) await new Promise((done) => hostile.close(done));
  if (stack) await stack.stop();
});

/** Runs fetch in the hostile page; answers {ok, status, body} or {error}. */
function fetchFrom(page, url, init) {
  return page.evaluate(
    async ([target, options]) => {
      try {
        const response = await fetch(target, options);
        return { ok: true, status: response.status, body: await response.text() };
      } catch (error) {
        return { error: String(error) };
      }
    },
    [url, init],
  );
}

test('a page on another origin cannot read a panel route, even knowing the password', async () => {
  const page = await openPage(browser);
  await page.goto(hostileUrl);
  assert.notEqual(new URL(page.url()).origin, new URL(stack.url).origin);

  // With the password as a Bearer: the preflight is refused, the request never runs.
  const withPassword = await fetchFrom(page, stack.url + '/config/get', {
    headers: { Authorization: `Bearer ${stack.password}` },
  });
  assert.ok(withPassword.error, `the panel answered a foreign page: ${JSON.stringify(withPassword)}`);

  // A simple request needs no preflight, but the answer stays hidden from the page.
  const simple = await fetchFrom(page, stack.url + '/creds/status', {});
  assert.ok(simple.error, `a foreign page read /creds/status: ${JSON.stringify(simple)}`);
  const login = await fetchFrom(page, stack.url + '/auth/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ password: stack.password }),
  });
  assert.ok(login.error, `a foreign page logged in: ${JSON.stringify(login)}`);

  // The client API stays open to browser apps on any origin.
  const models = await fetchFrom(page, stack.url + '/v1/models', {
    headers: { Authorization: `Bearer ${stack.password}` },
  });
  assert.equal(models.status, 200, JSON.stringify(models));
  assert.equal(JSON.parse(models.body).object, 'list');
  assert.deepEqual(page.errors, []);
});

test('simple posts from another origin cannot lock the operator out of the panel', async () => {
  const page = await openPage(browser);
  await page.goto(hostileUrl);
  // What a hostile page can send without a preflight: text/plain and form bodies, answers unread.
  for (let i = 0; i < 12; i += 1) {
    const sent = await page.evaluate(
      async ([target, n]) => {
        const body = n % 2 ? `password=guess-${n}` : JSON.stringify({ password: `guess-${n}` });
        const type = n % 2 ? 'application/x-www-form-urlencoded' : 'text/plain';
        try {
          await fetch(target, { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': type }, body });
          return true;
        } catch (error) {
          return String(error);
        }
      },
      [stack.url + '/auth/login', i],
    );
    assert.equal(sent, true);
  }
  // None of them counted as a failed login: the operator still logs in.
  const login = await fetch(stack.url + '/auth/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ password: stack.password }),
  });
  assert.equal(login.status, 200, await login.text());
});
