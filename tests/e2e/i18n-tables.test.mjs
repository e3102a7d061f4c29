// The string tables without a browser: both languages have the same keys and no empty text, every key a
// page or script uses exists and every key exists for a reason, and every text and attribute the HTML
// shows comes from the table (its English fallback equal to the table's English).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import vm from 'node:vm';

import { REPO_ROOT } from './support/stack.mjs';

const STATIC = join(REPO_ROOT, 'static');
const PAGES = ['panel.html', 'auth.html', 'api-key-admin.html', 'api-key-query.html'];
// Text that is the same in every language: the product name, paths, log levels, a model name.
export const LANGUAGE_NEUTRAL = /^(gcli2api|\/[\w\-/]*|[A-Z]{2,}|gemini-[\w.\-]+)$/;

function loadTables() {
  const context = {
    window: {},
    navigator: { languages: ['en'] },
    localStorage: { getItem: () => null },
    location: {},
    console: { warn() {} },
    document: {
      documentElement: {},
      querySelectorAll: () => [],
      querySelector: () => null,
      getElementById: () => null,
    },
  };
  vm.createContext(context);
  for (const file of ['i18n-zh-CN.js', 'i18n-en.js', 'i18n.js']) vm.runInContext(readFileSync(join(STATIC, file), 'utf8'), context);
  return context.window.I18N.tables;
}

/** Every key named by the pages (data-i18n, data-i18n-attr) and the scripts (t('…'), '…' table keys). */
function usedKeys() {
  const used = new Set();
  for (const file of readdirSync(STATIC)) {
    if (file.startsWith('i18n') || !/\.(html|js)$/.test(file)) continue;
    const text = readFileSync(join(STATIC, file), 'utf8');
    for (const m of text.matchAll(/\bt\('([\w.]+)'/g)) used.add(m[1]);
    for (const m of text.matchAll(/data-i18n="([\w.]+)"/g)) used.add(m[1]);
    for (const m of text.matchAll(/data-i18n-attr="([^"]+)"/g)) for (const pair of m[1].split(',')) used.add(pair.split(':')[1]);
    // Keys kept in lookup tables of a script: 'area.name' string literals.
    for (const m of text.matchAll(/'((?:req|tab|th|common|kind|audit)\.[a-zA-Z]+)'/g)) used.add(m[1]);
  }
  return used;
}

/** The page's elements with their attributes and direct text, by a small tag scanner (the pages are plain). */
function scan(html) {
  const out = [];
  const stack = [];
  const re = /<!--[\s\S]*?-->|<![^>]*>|<(\/?)([a-zA-Z][\w-]*)([^>]*)>|([^<]+)/g;
  const VOID = new Set(['meta', 'link', 'input', 'br', 'img', 'hr', 'source']);
  let m;
  while ((m = re.exec(html))) {
    if (m[0].startsWith('<!')) continue;
    if (m[2]) {
      const tag = m[2].toLowerCase();
      if (m[1]) {
        while (stack.length && stack.pop().tag !== tag);
        continue;
      }
      const attrs = {};
      for (const a of m[3].matchAll(/([\w-]+)(?:="([^"]*)")?/g)) attrs[a[1]] = a[2] === undefined ? '' : a[2];
      const el = { tag, attrs };
      out.push({ kind: 'element', el, parents: stack.slice() });
      if (!VOID.has(tag) && !m[3].trim().endsWith('/')) stack.push(el);
    } else if (m[4] && m[4].trim()) {
      out.push({ kind: 'text', text: m[4].trim().replace(/\s+/g, ' '), parent: stack[stack.length - 1], parents: stack.slice() });
    }
  }
  return out;
}

function decode(text) {
  return text.replace(/&larr;/g, '\u2190').replace(/&rarr;/g, '\u2192').replace(/&#8599;/g, '\u2197').replace(/&amp;/g, '&');
}

const tables = loadTables();
const en = tables.en;
const zh = tables['zh-CN'];

test('both languages have the same keys, none empty', () => {
  assert.deepEqual(Object.keys(zh).filter((k) => !(k in en)), [], 'keys only in zh-CN');
  assert.deepEqual(Object.keys(en).filter((k) => !(k in zh)), [], 'keys only in en');
  for (const [lang, table] of Object.entries(tables)) {
    for (const [key, text] of Object.entries(table)) assert.ok(String(text).trim(), `${lang}: ${key} is empty`);
  }
});

test('placeholders match between the languages', () => {
  const names = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(',');
  for (const key of Object.keys(en)) assert.equal(names(zh[key]), names(en[key]), `placeholders of ${key}`);
});

test('the Chinese table is Chinese', () => {
  // Every value shows at least one CJK character, except those that are language-neutral on purpose.
  const neutral = new Set(['creds.meterPro', 'query.hintB']);
  const english = Object.entries(zh).filter(([k, v]) => !neutral.has(k) && !/[\u3000-\u9fff\uff00-\uffef]/.test(v));
  assert.deepEqual(english, []);
});

test('every key used exists and every key is used', () => {
  const used = usedKeys();
  assert.deepEqual([...used].filter((k) => !(k in en)), [], 'used but not defined');
  assert.deepEqual(Object.keys(en).filter((k) => !used.has(k) && !k.startsWith('lang.')), [], 'defined but never used');
});

for (const page of PAGES) {
  test(`${page}: every text and attribute comes from the table`, () => {
    const items = scan(readFileSync(join(STATIC, page), 'utf8'));
    const problems = [];
    for (const item of items) {
      if (item.kind === 'text') {
        const skipped = item.parents.some((p) => ['script', 'style', 'noscript', 'code', 'datalist'].includes(p.tag));
        const text = decode(item.text);
        if (skipped || !/[A-Za-z\u4e00-\u9fff]/.test(text)) continue;
        const key = item.parent && item.parent.attrs['data-i18n'];
        if (key) {
          if (en[key] !== text) problems.push(`fallback of ${key} differs from the table: ${JSON.stringify(text)}`);
        } else if (!LANGUAGE_NEUTRAL.test(text)) {
          problems.push(`literal text outside data-i18n: ${JSON.stringify(text)}`);
        }
      } else {
        const { attrs } = item.el;
        const translated = new Set((attrs['data-i18n-attr'] || '').split(',').filter(Boolean).map((p) => p.split(':')[0]));
        for (const name of ['aria-label', 'title', 'placeholder', 'alt']) {
          const value = attrs[name];
          if (value && /[A-Za-z]{2,}\s+[A-Za-z]{2,}|^[A-Z][a-z]+$/.test(value) && !translated.has(name)) {
            problems.push(`<${item.el.tag} ${name}="${value}"> is not translated`);
          }
        }
      }
    }
    assert.deepEqual(problems, []);
  });
}
