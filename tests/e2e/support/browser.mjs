// Debian's Chromium driven by playwright-core, plus the page-level checks and the stack-and-browser
// fixture the tests share.
import { before, after } from 'node:test';
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { startStack, credentialJson } from './stack.mjs';

export const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');
export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 390, height: 844 };

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
}

/**
 * A fresh context (own sessionStorage and localStorage) and page in the browser language `locale`;
 * browser console errors are collected on page.errors.
 */
export async function openPage(browser, viewport = DESKTOP, locale = 'en-US') {
  const context = await browser.newContext({ viewport, locale });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (error) => page.errors.push(String(error)));
  page.setDefaultTimeout(10000);
  return page;
}

export async function login(page, password) {
  await page.locator('#login-password').fill(password);
  await page.locator('#login-submit').click();
  await page.locator('#app-view').waitFor({ state: 'visible' });
}

/**
 * The fixture of the key pages' tests: a stack with one credential (`solo.json`) and a browser,
 * started before the file's tests (`onStart({stack, browser})` once both run) and stopped after them.
 */
export function soloStackWithBrowser(onStart) {
  const started = {};
  before(async () => {
    started.stack = await startStack({ credentials: { 'solo.json': credentialJson('solo') } });
    started.browser = await launchBrowser();
    onStart(started);
  });
  after(async () => {
    if (started.browser) await started.browser.close();
    if (started.stack) await started.stack.stop();
  });
}

/** A fresh page on the gateway's `path`, signed in to the panel with the stack's password. */
export async function signedInPage(browser, stack, path) {
  const page = await openPage(browser);
  await page.goto(stack.url + path);
  await login(page, stack.password);
  return page;
}

/** The status of one chat call made with `key` (the answer is read and dropped). */
export async function chatStatus(stack, key, { model = 'gemini-2.5-flash', content = 'hi' } = {}) {
  const response = await fetch(stack.url + '/v1/chat/completions', {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content }] }),
  });
  await response.arrayBuffer().catch(() => undefined);
  return response.status;
}

export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/**
 * The page's layout width and the visible elements sticking out to the right, so a failure names the
 * culprit rather than only reporting two numbers.
 */
export function horizontalOverflow(page) {
  return page.evaluate(() => {
    const width = window.innerWidth;
    const offenders = [];
    for (const el of document.querySelectorAll('body *')) {
      const rect = el.getBoundingClientRect();
      if (rect.width === 0 || rect.right <= width + 0.5) continue;
      // Content inside a scroll container (wide tables, log view) may be wider than the screen.
      let clipped = false;
      for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
        const style = getComputedStyle(p);
        if (/(auto|scroll|hidden|clip)/.test(style.overflowX) && p.getBoundingClientRect().right <= width + 0.5) {
          clipped = true;
          break;
        }
      }
      if (clipped) continue;
      const id = el.id ? '#' + el.id : '';
      const cls = el.classList.length ? '.' + Array.from(el.classList).join('.') : '';
      offenders.push(`${el.tagName.toLowerCase()}${id}${cls} right=${Math.round(rect.right)}`);
      if (offenders.length >= 8) break;
    }
    return { scrollWidth: document.documentElement.scrollWidth, innerWidth: width, offenders };
  });
}

export async function assertNoHorizontalScroll(assert, page, what) {
  const result = await horizontalOverflow(page);
  assert.ok(
    result.scrollWidth <= result.innerWidth,
    `${what}: scrollWidth ${result.scrollWidth} > innerWidth ${result.innerWidth}; wide elements: ${result.offenders.join(', ') || 'none found'}`,
  );
}
