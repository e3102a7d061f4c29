/* The language of the pages: a remembered choice (localStorage), else the browser's language. Every
   string is in one table per language (i18n-zh-CN.js, i18n-en.js), loaded just before this file.
   Static text is marked in the HTML with data-i18n="key" (text) and data-i18n-attr="attr:key,…";
   scripts call I18N.t('key', {name: value}). Exposes one global: I18N. */
(function () {
  'use strict';

  const STORE_KEY = 'gcli2api.lang';
  const LANGS = ['zh-CN', 'en'];
  const TABLES = window.I18N_TABLES || {};
  const en = TABLES.en || {};
  // Language names are written in their own language, whatever the page's language.
  const NAMES = { 'zh-CN': '简体中文', en: 'English' };

  function stored() {
    try {
      const value = localStorage.getItem(STORE_KEY);
      return LANGS.includes(value) ? value : '';
    } catch (_) {
      return '';
    }
  }

  function fromBrowser() {
    const list = (navigator.languages && navigator.languages.length) ? navigator.languages : [navigator.language || ''];
    for (const tag of list) {
      const lower = String(tag).toLowerCase();
      if (lower.startsWith('zh')) return 'zh-CN';
      if (lower.startsWith('en')) return 'en';
    }
    return 'en';
  }

  const lang = stored() || fromBrowser();
  const table = TABLES[lang] || en;

  /** The text of `key` in the page's language, with {name} placeholders filled from `vars`. */
  function t(key, vars) {
    let text = table[key];
    if (text === undefined) {
      console.warn('i18n: missing key ' + key);
      text = en[key] !== undefined ? en[key] : key;
    }
    if (vars) text = text.replace(/\{(\w+)\}/g, (m, name) => (vars[name] !== undefined && vars[name] !== null ? String(vars[name]) : m));
    return text;
  }

  /** Replaces the marked text and attributes under `root` (the whole document by default). */
  function apply(root) {
    const scope = root || document;
    for (const node of scope.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
    for (const node of scope.querySelectorAll('[data-i18n-attr]')) {
      for (const pair of node.dataset.i18nAttr.split(',')) {
        const [attr, key] = pair.split(':').map((s) => s.trim());
        if (attr && key) node.setAttribute(attr, t(key));
      }
    }
  }

  function setLang(next) {
    if (!LANGS.includes(next) || next === lang) return;
    try {
      localStorage.setItem(STORE_KEY, next);
    } catch (_) {
      /* storage disabled: the choice lasts for this page only */
    }
    // Scripts build much of the page from strings; a reload redraws all of it in the new language.
    location.reload();
  }

  /** The visible language switch, added to the page's top bar. */
  function mountSwitch() {
    const bar = document.querySelector('.topbar-inner');
    if (!bar || document.getElementById('lang-switch')) return;
    const select = document.createElement('select');
    select.id = 'lang-switch';
    select.className = 'lang-switch';
    select.setAttribute('aria-label', t('lang.label'));
    select.dataset.i18nSkip = '';
    for (const code of LANGS) {
      const option = document.createElement('option');
      option.value = code;
      option.lang = code;
      option.textContent = NAMES[code];
      option.selected = code === lang;
      select.appendChild(option);
    }
    select.addEventListener('change', () => setLang(select.value));
    bar.appendChild(select);
  }

  document.documentElement.lang = lang;
  apply(document);
  mountSwitch();

  window.I18N = { t, apply, setLang, lang, tables: TABLES, languages: LANGS };
})();
