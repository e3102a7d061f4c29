// Every page in Simplified Chinese and in English, chosen from the browser's language: after the page
// (and for the panel every tab) has drawn its data, no visible text, attribute or title is left in the
// other language, no key is missing, and the switch in the top bar is remembered.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startStack, credentialJson } from './support/stack.mjs';
import { launchBrowser, openPage, login, screenshot, assertNoHorizontalScroll, PHONE } from './support/browser.mjs';

let stack;
let browser;
let apiKey;

before(async () => {
  stack = await startStack({ credentials: { 'alpha.json': credentialJson('alpha') } });
  browser = await launchBrowser();
  const created = await stack.api('POST', '/auth/keys', { total_quota: 1234567890, description: 'i18n' });
  assert.equal(created.status, 200, created.text);
  apiKey = created.json.api_key;
  const chat = await fetch(stack.url + '/v1/chat/completions', {
    method: 'POST',
    headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(chat.status, 200, await chat.text());
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

/** A page in `locale` that records console warnings about missing keys. */
async function localePage(locale, viewport) {
  const page = await openPage(browser, viewport, locale);
  page.missing = [];
  page.on('console', (msg) => {
    if (msg.text().startsWith('i18n:')) page.missing.push(msg.text());
  });
  return page;
}

/**
 * The visible text of the page, its translatable attributes and its title, with what the page shows as
 * data (code, log lines, file names, the language names in the switch) left out.
 */
function visibleStrings(page) {
  return page.evaluate(() => {
    const SKIP = 'script, style, code, #log-view, [data-i18n-skip], .cell-file, .key-text, #oauth-url, svg';
    const out = [];
    const visible = (el) => el && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const el = node.parentElement;
      const text = node.textContent.trim();
      if (!text || !el || el.closest(SKIP) || !visible(el)) continue;
      out.push(text);
    }
    for (const el of document.querySelectorAll('[aria-label], [placeholder], [title]')) {
      if (el.closest(SKIP) || !visible(el)) continue;
      for (const name of ['aria-label', 'placeholder', 'title']) {
        const value = el.getAttribute(name);
        if (value) out.push(value);
      }
    }
    // Chart labels are drawn as SVG text; their titles and axis text are in the page's language.
    for (const el of document.querySelectorAll('svg[aria-label]')) if (visible(el)) out.push(el.getAttribute('aria-label'));
    out.push(document.title);
    return out;
  });
}

// Proper names and units that stay as they are in Chinese text.
const KEEP = /\b(Google Cloud|Gemini Code Assist|Code Assist|Vertex AI|AI Studio|Google|Cloud|OAuth|JavaScript|HTTP|UTC|API|JSON|Pro|ms|ok)\b/g;

function untranslated(strings, locale, tables) {
  const other = locale === 'zh-CN' ? tables.en : tables['zh-CN'];
  const mine = locale === 'zh-CN' ? tables['zh-CN'] : tables.en;
  // Whole strings that exist only in the other language.
  const foreign = new Set(Object.keys(other).filter((k) => other[k] !== mine[k]).map((k) => other[k]));
  return strings.filter((s) => {
    if (foreign.has(s)) return true;
    // Two English words in a row (file names like alpha.json are one word).
    if (locale === 'zh-CN') return /[A-Za-z]{2,}[,.:;'’]?\s+[A-Za-z]{2,}/.test(s.replace(KEEP, ''));
    // Model names with a Chinese feature prefix (假流式/gemini-2.5-flash) are names, not text.
    return /[\u3400-\u9fff]/.test(s.replace(/\S*\/gemini[\w.-]*/g, ''));
  });
}

async function check(page, locale, where) {
  const tables = await page.evaluate(() => window.I18N.tables);
  assert.equal(await page.evaluate(() => document.documentElement.lang), locale, `${where}: <html lang>`);
  const bad = untranslated(await visibleStrings(page), locale, tables);
  assert.deepEqual(bad, [], `${where} in ${locale}: untranslated`);
  assert.deepEqual(page.missing, [], `${where} in ${locale}: missing keys`);
  assert.deepEqual(page.errors, [], `${where} in ${locale}: page errors`);
}

const PANEL_TABS = [
  ['creds', '#creds-body tr[data-filename="alpha.json"]'],
  ['oauth', '#oauth-start'],
  ['config', '#cfg-calls_per_rotation'],
  ['usage', '#usage-body tr[data-filename="alpha.json"]'],
  ['models', '#models-body tr[data-id="gemini-2.5-pro"]'],
  ['requests', '#req-body tr[data-id]'],
  ['logs', '#log-status[data-state="on"]'],
];

for (const locale of ['zh-CN', 'en']) {
  test(`the panel in ${locale}: login, every tab and a trace`, async () => {
    const page = await localePage(locale);
    await page.goto(stack.url + '/');
    await page.locator('#login-view').waitFor({ state: 'visible' });
    await check(page, locale, 'panel login');
    await login(page, stack.password);
    for (const [tab, ready] of PANEL_TABS) {
      await page.locator(`#tab-${tab}`).click();
      await page.locator(ready).first().waitFor();
      if (tab === 'oauth') {
        await page.locator('#oauth-start').click();
        await page.locator('#oauth-url').waitFor();
      }
      if (tab === 'usage') await page.locator('#chart-tokens svg').waitFor();
      if (tab === 'requests') {
        await page.locator('#req-body tr[data-id] button[data-action="open"]').first().click();
        await page.locator('#trace-attempts').waitFor();
      }
      await check(page, locale, `panel tab ${tab}`);
      await screenshot(page, `i18n-panel-${tab}-${locale}`);
    }
    await page.context().close();
  });

  test(`the public pages in ${locale}`, async () => {
    const page = await localePage(locale);
    await page.goto(stack.url + '/auth');
    await page.locator('#oauth-start').click();
    await page.locator('#oauth-url').waitFor();
    await check(page, locale, '/auth');

    await page.goto(stack.url + '/api-key-query');
    await page.locator('#query-form').waitFor();
    await check(page, locale, '/api-key-query');
    await page.locator('#query-key').fill(apiKey);
    await page.locator('#query-submit').click();
    await page.locator('#query-models').waitFor();
    await check(page, locale, '/api-key-query with a result');

    await page.goto(stack.url + '/api-key-admin');
    await login(page, stack.password);
    await page.locator('#keys-body tr[data-key]').first().waitFor();
    await page.locator('#key-advanced summary').click();
    await check(page, locale, '/api-key-admin');
    await screenshot(page, `i18n-api-key-admin-${locale}`);
    await page.context().close();
  });
}

test('the language switch is remembered across pages and visits', async () => {
  const page = await localePage('en-US');
  await page.goto(stack.url + '/api-key-query');
  assert.equal(await page.locator('#query-submit').textContent(), 'Check');
  await Promise.all([page.waitForEvent('load'), page.locator('#lang-switch').selectOption('zh-CN')]);
  assert.equal(await page.locator('#query-submit').textContent(), '查询');
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'zh-CN');
  // Another page of the same browser, whose own language is English, keeps the choice.
  await page.goto(stack.url + '/auth');
  assert.equal(await page.locator('#oauth-start').textContent(), '开始授权');
  await Promise.all([page.waitForEvent('load'), page.locator('#lang-switch').selectOption('en')]);
  assert.equal(await page.locator('#oauth-start').textContent(), 'Start authorisation');
  await page.context().close();
});

test('large numbers on the key-query page stay whole on a phone', async () => {
  for (const locale of ['zh-CN', 'en']) {
    const page = await localePage(locale, PHONE);
    await page.goto(stack.url + '/api-key-query');
    await page.locator('#query-key').fill(apiKey);
    await page.locator('#query-submit').click();
    await page.locator('#query-models').waitFor();
    const broken = await page.evaluate(() => {
      const out = [];
      for (const el of document.querySelectorAll('#query-result .stat-value, #query-result .num-whole')) {
        const range = document.createRange();
        range.selectNodeContents(el);
        // One line box per number: more means the number was broken across lines.
        const lines = new Set(Array.from(range.getClientRects()).map((r) => Math.round(r.top)));
        if (lines.size > 1) out.push(el.textContent);
      }
      return out;
    });
    assert.deepEqual(broken, [], `numbers broken across lines (${locale})`);
    // Whole numbers still fit: the stats wrap onto more rows instead of running off the screen.
    await assertNoHorizontalScroll(assert, page, `/api-key-query with ten-digit numbers at 390 px (${locale})`);
    assert.ok((await page.locator('#query-total .stat-value').textContent()).includes('1,234,567,890'));
    await screenshot(page, `i18n-api-key-query-390-${locale}`);
    await page.context().close();
  }
});
