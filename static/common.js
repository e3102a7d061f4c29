/* Shared by every page: DOM building (text only, never innerHTML), API calls with the panel token,
   toasts, a confirm dialog, copy/download/upload helpers, number and time formatting, and the
   login gate used by the panel and the API-key admin page. Exposes one global: GC. */
(function () {
  'use strict';

  const TOKEN_KEY = 'gcli2api.panelToken';
  const t = window.I18N.t;

  const Auth = {
    get() {
      try {
        return sessionStorage.getItem(TOKEN_KEY) || '';
      } catch (_) {
        return '';
      }
    },
    set(token) {
      try {
        sessionStorage.setItem(TOKEN_KEY, token);
      } catch (_) {
        /* storage disabled: the session simply won't survive a reload */
      }
    },
    clear() {
      try {
        sessionStorage.removeItem(TOKEN_KEY);
      } catch (_) {
        /* nothing stored */
      }
    },
  };

  // ---------- escaping and DOM building ----------

  function escapeHtml(value) {
    return String(value == null ? '' : value)
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&#39;');
  }

  function appendChildren(node, children) {
    for (const child of children) {
      if (child == null || child === false) continue;
      if (Array.isArray(child)) {
        appendChildren(node, child);
      } else if (child instanceof Node) {
        node.appendChild(child);
      } else {
        // Server strings always enter the page as text nodes, so markup in them is inert.
        node.appendChild(document.createTextNode(String(child)));
      }
    }
  }

  // Set as live properties (state the user can change); everything else is a plain attribute.
  const PROPERTIES = new Set(['value', 'checked', 'disabled', 'hidden', 'readOnly', 'selected', 'multiple', 'indeterminate']);

  function applyAttrs(node, attrs) {
    if (!attrs) return;
    for (const [key, value] of Object.entries(attrs)) {
      if (value == null || value === false) continue;
      if (key === 'class') node.setAttribute('class', value);
      else if (key === 'dataset') Object.assign(node.dataset, value);
      else if (key === 'style' && typeof value === 'object') Object.assign(node.style, value);
      else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
      else if (PROPERTIES.has(key)) node[key] = value;
      else node.setAttribute(key, value === true ? '' : String(value));
    }
  }

  /** h('div', {class: 'x'}, 'text', childNode, [more]) */
  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    applyAttrs(node, attrs);
    appendChildren(node, children);
    return node;
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
    applyAttrs(node, attrs);
    appendChildren(node, children);
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function replace(node, ...children) {
    clear(node);
    appendChildren(node, children);
    return node;
  }

  function $(selector, root) {
    return (root || document).querySelector(selector);
  }

  // ---------- toasts ----------

  function toastHost() {
    let host = document.getElementById('toasts');
    if (!host) {
      host = h('div', { id: 'toasts', class: 'toasts', role: 'status', 'aria-live': 'polite' });
      document.body.appendChild(host);
    }
    return host;
  }

  function toast(message, kind) {
    const type = kind || 'info';
    const close = h('button', { type: 'button', 'aria-label': t('common.dismiss') }, '\u00d7');
    const node = h('div', { class: 'toast ' + type, dataset: { testid: 'toast' } },
      h('div', { class: 'toast-text' }, message), close);
    const remove = () => node.remove();
    close.addEventListener('click', remove);
    toastHost().appendChild(node);
    setTimeout(remove, type === 'error' ? 9000 : 5000);
    return node;
  }

  // ---------- API ----------

  class ApiError extends Error {
    constructor(status, message, body) {
      super(message);
      this.status = status;
      this.body = body;
    }
  }

  let unauthorizedHandler = null;

  function onUnauthorized(handler) {
    unauthorizedHandler = handler;
  }

  function handleUnauthorized() {
    Auth.clear();
    if (unauthorizedHandler) unauthorizedHandler();
  }

  /** Picks the human message out of the error shapes the gateway (and proxies in front of it) produce. */
  function errorMessage(body, status, rawText) {
    if (body && typeof body === 'object') {
      const err = body.error;
      if (err && typeof err === 'object' && err.message) return String(err.message);
      if (typeof err === 'string' && err) return err;
      if (typeof body.detail === 'string' && body.detail) return body.detail;
      if (body.detail && typeof body.detail === 'object') return JSON.stringify(body.detail);
      if (typeof body.message === 'string' && body.message) return body.message;
    }
    const text = (rawText || '').trim();
    if (text && text.length < 300 && !/^\s*</.test(text)) return text;
    if (status === 0) return t('common.unreachable');
    return t('common.httpFailed', { status });
  }

  function parseBody(text) {
    if (!text) return null;
    try {
      return JSON.parse(text);
    } catch (_) {
      return null;
    }
  }

  /**
   * apiRequest('POST', '/creds/action', {body: {...}})
   * options.auth=false: public call, no token sent and a 401 is reported, not treated as a logout.
   * options.form: a FormData body. Resolves with the parsed JSON (or null), rejects with ApiError.
   */
  async function apiRequest(method, path, options) {
    const opts = options || {};
    const useAuth = opts.auth !== false;
    const headers = { Accept: 'application/json' };
    let body;
    if (opts.form) {
      body = opts.form;
    } else if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    const token = Auth.get();
    if (useAuth && token) headers.Authorization = 'Bearer ' + token;

    let response;
    try {
      response = await fetch(path, { method, headers, body, cache: 'no-store', credentials: 'same-origin' });
    } catch (e) {
      throw new ApiError(0, t('common.unreachable'), null);
    }
    const text = await response.text().catch(() => '');
    const data = parseBody(text);
    if (!response.ok) {
      if (response.status === 401 && useAuth) handleUnauthorized();
      throw new ApiError(response.status, errorMessage(data, response.status, text), data);
    }
    // Callers test the result for truthiness to tell success from a reported failure.
    return data == null ? {} : data;
  }

  const api = {
    get: (path, opts) => apiRequest('GET', path, opts),
    post: (path, body, opts) => apiRequest('POST', path, Object.assign({}, opts, { body: body === undefined ? {} : body })),
    del: (path, opts) => apiRequest('DELETE', path, opts),
  };

  /** Multipart upload through XMLHttpRequest, because fetch() cannot report upload progress. */
  function uploadWithProgress(path, formData, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', path);
      xhr.setRequestHeader('Accept', 'application/json');
      const token = Auth.get();
      if (token) xhr.setRequestHeader('Authorization', 'Bearer ' + token);
      xhr.upload.addEventListener('progress', (event) => {
        if (event.lengthComputable && onProgress) onProgress(event.loaded, event.total);
      });
      xhr.addEventListener('load', () => {
        const data = parseBody(xhr.responseText);
        if (xhr.status >= 200 && xhr.status < 300) {
          resolve(data == null ? {} : data);
        } else {
          if (xhr.status === 401) handleUnauthorized();
          reject(new ApiError(xhr.status, errorMessage(data, xhr.status, xhr.responseText), data));
        }
      });
      xhr.addEventListener('error', () => reject(new ApiError(0, t('common.unreachable'), null)));
      xhr.addEventListener('abort', () => reject(new ApiError(0, t('common.uploadCancelled'), null)));
      xhr.send(formData);
    });
  }

  function filenameFromDisposition(header) {
    if (!header) return '';
    const star = /filename\*\s*=\s*(?:UTF-8'')?([^;]+)/i.exec(header);
    if (star) {
      try {
        return decodeURIComponent(star[1].trim().replace(/^"|"$/g, ''));
      } catch (_) {
        /* fall through to the plain form */
      }
    }
    const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(header);
    return plain ? plain[1].trim() : '';
  }

  function saveBlob(blob, name) {
    const url = URL.createObjectURL(blob);
    const link = h('a', { href: url, download: name || 'download' });
    link.hidden = true;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 30000);
  }

  /** Downloads an authenticated attachment: a plain link could not carry the bearer token. */
  async function downloadWithAuth(path, fallbackName) {
    const headers = {};
    const token = Auth.get();
    if (token) headers.Authorization = 'Bearer ' + token;
    let response;
    try {
      response = await fetch(path, { headers, cache: 'no-store' });
    } catch (_) {
      throw new ApiError(0, t('common.unreachable'), null);
    }
    if (!response.ok) {
      const text = await response.text().catch(() => '');
      if (response.status === 401) handleUnauthorized();
      throw new ApiError(response.status, errorMessage(parseBody(text), response.status, text), null);
    }
    const blob = await response.blob();
    const name = filenameFromDisposition(response.headers.get('Content-Disposition')) || fallbackName;
    saveBlob(blob, name);
    return name;
  }

  async function copyText(text) {
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        return true;
      }
    } catch (_) {
      /* fall back to the selection trick below */
    }
    const area = h('textarea', { readOnly: true, 'aria-hidden': 'true' });
    area.value = text;
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.appendChild(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand('copy');
    } catch (_) {
      ok = false;
    }
    area.remove();
    return ok;
  }

  async function copyWithToast(text, what) {
    const ok = await copyText(text);
    if (ok) toast(t('common.copied', { what: what || t('common.text') }), 'ok');
    else toast(t('common.copyFailed'), 'warn');
  }

  // ---------- confirm dialog ----------

  /** Promise<boolean>. A page dialog rather than window.confirm so it looks the same everywhere and tests can click it. */
  function confirmDialog(message, okLabel, danger) {
    return new Promise((resolve) => {
      const ok = h('button', { type: 'button', id: 'confirm-ok', class: 'btn ' + (danger === false ? 'btn-primary' : 'btn-danger solid') }, okLabel || t('common.confirm'));
      const cancel = h('button', { type: 'button', id: 'confirm-cancel', class: 'btn' }, t('common.cancel'));
      const dialog = h('dialog', { class: 'confirm', 'aria-labelledby': 'confirm-text' },
        h('p', { id: 'confirm-text' }, message),
        h('div', { class: 'row end' }, cancel, ok));
      let settled = false;
      const finish = (value) => {
        if (settled) return;
        settled = true;
        if (dialog.open) dialog.close();
        dialog.remove();
        resolve(value);
      };
      ok.addEventListener('click', () => finish(true));
      cancel.addEventListener('click', () => finish(false));
      dialog.addEventListener('cancel', () => finish(false));
      dialog.addEventListener('close', () => finish(false));
      document.body.appendChild(dialog);
      if (typeof dialog.showModal === 'function') {
        dialog.showModal();
        cancel.focus();
      } else {
        dialog.remove();
        resolve(window.confirm(message));
      }
    });
  }

  // ---------- formatting ----------

  /** Accepts unix seconds, unix milliseconds, numeric strings or ISO strings; returns a Date or null. */
  function parseTime(value) {
    if (value == null || value === '') return null;
    if (typeof value === 'number' || /^\d+(\.\d+)?$/.test(String(value))) {
      const n = Number(value);
      if (!isFinite(n) || n <= 0) return null;
      return new Date(n > 1e12 ? n : n * 1000);
    }
    const t = Date.parse(String(value));
    return isNaN(t) ? null : new Date(t);
  }

  function pad(n) {
    return String(n).padStart(2, '0');
  }

  function formatLocal(date) {
    if (!date) return '\u2014';
    return date.getFullYear() + '-' + pad(date.getMonth() + 1) + '-' + pad(date.getDate()) + ' ' +
      pad(date.getHours()) + ':' + pad(date.getMinutes());
  }

  function formatUtc(date) {
    if (!date) return '\u2014';
    return date.getUTCFullYear() + '-' + pad(date.getUTCMonth() + 1) + '-' + pad(date.getUTCDate()) + ' ' +
      pad(date.getUTCHours()) + ':' + pad(date.getUTCMinutes()) + ' UTC';
  }

  function formatTime(value) {
    return formatLocal(parseTime(value));
  }

  /** "3d 4h", "2h 05m", "4m 09s", "12s" */
  function formatDuration(seconds) {
    let s = Math.max(0, Math.round(seconds));
    const d = Math.floor(s / 86400);
    s -= d * 86400;
    const hrs = Math.floor(s / 3600);
    s -= hrs * 3600;
    const m = Math.floor(s / 60);
    s -= m * 60;
    if (d > 0) return t('dur.dh', { d, h: hrs });
    if (hrs > 0) return t('dur.hm', { h: hrs, m: pad(m) });
    if (m > 0) return t('dur.ms', { m, s: pad(s) });
    return t('dur.s', { s });
  }

  function formatRelative(value) {
    const date = parseTime(value);
    if (!date) return t('time.never');
    const diff = (Date.now() - date.getTime()) / 1000;
    if (diff < 0) return t('time.in', { d: formatDuration(-diff) });
    if (diff < 45) return t('time.justNow');
    return t('time.ago', { d: formatDuration(diff) });
  }

  function formatNumber(value) {
    const n = Number(value);
    if (!isFinite(n)) return '\u2014';
    return n.toLocaleString('en-US', { maximumFractionDigits: 2 });
  }

  function basename(path) {
    const parts = String(path || '').split(/[\\/]/);
    return parts[parts.length - 1] || String(path || '');
  }

  /** Usage meter: label, numbers and a bar that turns amber at 80 % and red at 100 %. */
  function meter(label, used, limit, extraClass) {
    const u = Number(used) || 0;
    const l = Number(limit);
    const hasLimit = isFinite(l) && l > 0;
    const pct = hasLimit ? Math.min(100, (u / l) * 100) : 0;
    const fill = h('div', { class: 'bar-fill' + (pct >= 100 ? ' danger' : pct >= 80 ? ' warn' : '') });
    fill.style.width = pct.toFixed(1) + '%';
    const numbers = hasLimit
      ? [h('span', { class: 'num-whole' }, formatNumber(u)), ' / ', h('span', { class: 'num-whole' }, formatNumber(l))]
      : [h('span', { class: 'num-whole' }, formatNumber(u))];
    return h('div', { class: 'meter' + (extraClass ? ' ' + extraClass : '') },
      h('div', { class: 'meter-label' }, h('span', null, label), h('span', { class: 'meter-numbers' }, numbers)),
      h('div', {
        class: 'bar', role: 'progressbar', 'aria-label': label,
        'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': pct.toFixed(0),
      }, fill));
  }

  /** The gateway's usage counters reset every day at 07:00 UTC. */
  function nextDailyReset(now) {
    const base = now ? new Date(now) : new Date();
    const reset = new Date(Date.UTC(base.getUTCFullYear(), base.getUTCMonth(), base.getUTCDate(), 7, 0, 0));
    if (reset.getTime() <= base.getTime()) reset.setUTCDate(reset.getUTCDate() + 1);
    return reset;
  }

  function setBusy(button, busy, busyLabel) {
    if (!button) return;
    if (busy) {
      if (!button.dataset.label) button.dataset.label = button.textContent;
      button.disabled = true;
      if (busyLabel) button.textContent = busyLabel;
    } else {
      button.disabled = false;
      if (button.dataset.label) {
        button.textContent = button.dataset.label;
        delete button.dataset.label;
      }
    }
  }

  /** Runs an async action with the button disabled; shows errors (except the logout 401) as toasts. */
  async function withBusy(button, busyLabel, action) {
    setBusy(button, true, busyLabel);
    try {
      return await action();
    } catch (e) {
      reportError(e);
      return undefined;
    } finally {
      setBusy(button, false);
    }
  }

  function reportError(e, prefix) {
    if (e instanceof ApiError && e.status === 401 && Auth.get() === '') {
      toast(t('common.sessionEnded'), 'warn');
      return;
    }
    const text = e && e.message ? e.message : String(e);
    toast((prefix ? prefix + ': ' : '') + text, 'error');
  }

  // ---------- login gate (panel and API-key admin) ----------

  /**
   * Wires #login-view / #app-view / #login-form / #login-password / #login-submit / #login-error / #logout.
   * onEnter() runs once the page holds a token; onLeave() when it is dropped (logout or any 401).
   */
  function initLoginGate(handlers) {
    const loginView = $('#login-view');
    const appView = $('#app-view');
    const form = $('#login-form');
    const password = $('#login-password');
    const submit = $('#login-submit');
    const errorBox = $('#login-error');
    const logout = $('#logout');
    let inside = false;

    function showLogin(message) {
      if (inside && handlers.onLeave) handlers.onLeave();
      inside = false;
      appView.hidden = true;
      loginView.hidden = false;
      if (logout) logout.hidden = true;
      if (message) {
        errorBox.textContent = message;
        errorBox.hidden = false;
      }
      password.value = '';
      password.focus();
    }

    function showApp() {
      loginView.hidden = true;
      errorBox.hidden = true;
      appView.hidden = false;
      if (logout) logout.hidden = false;
      if (!inside) {
        inside = true;
        handlers.onEnter();
      }
    }

    /** The screen after a login with the built-in password: choose a new one, saved at once. */
    function showNewPassword(key) {
      loginView.hidden = true;
      appView.hidden = true;
      const existing = $('#new-password-view');
      if (existing) existing.remove();
      const first = h('input', { type: 'password', id: 'new-password', autocomplete: 'new-password', required: true });
      const again = h('input', { type: 'password', id: 'new-password-again', autocomplete: 'new-password', required: true });
      const error = h('p', { id: 'new-password-error', class: 'notice danger', role: 'alert', hidden: true });
      const save = h('button', { type: 'submit', id: 'new-password-submit', class: 'btn btn-primary' }, t('password.save'));
      const later = h('button', { type: 'button', id: 'new-password-later', class: 'btn', hidden: true }, t('password.later'));
      const fail = (text) => {
        error.textContent = text;
        error.hidden = false;
      };
      const done = () => {
        view.remove();
        showApp();
      };
      later.addEventListener('click', done);
      const form = h('form', { id: 'new-password-form', novalidate: true },
        h('div', { class: 'field' }, h('label', { for: 'new-password' }, t('password.new')), first),
        h('div', { class: 'field' }, h('label', { for: 'new-password-again' }, t('password.again')), again),
        error, save, ' ', later);
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        error.hidden = true;
        if (first.value.length < 8 || first.value === 'pwd') return fail(t('password.tooShort'));
        if (first.value !== again.value) return fail(t('password.mismatch'));
        setBusy(save, true, t('password.saving'));
        try {
          const answer = await api.post('/config/save', { config: { [key]: first.value } });
          if ((answer.env_locked_skipped || []).includes(key)) {
            fail(t('password.locked'));
            later.hidden = false;
            return;
          }
          toast(t('password.saved'), 'ok');
          done();
        } catch (e) {
          fail(e.message);
        } finally {
          setBusy(save, false);
        }
      });
      const view = h('section', { id: 'new-password-view', class: 'card login-card' },
        h('h1', null, t('password.title')),
        h('p', null, t('password.explain')),
        form);
      loginView.after(view);
      first.focus();
    }

    onUnauthorized(() => {
      const pending = $('#new-password-view');
      if (pending) pending.remove();
      showLogin(t('common.sessionEnded'));
    });

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      errorBox.hidden = true;
      const value = password.value;
      if (!value) {
        errorBox.textContent = t('login.enterPassword');
        errorBox.hidden = false;
        return;
      }
      setBusy(submit, true, t('login.busy'));
      try {
        const data = await api.post('/auth/login', { password: value }, { auth: false });
        if (!data || !data.token) throw new ApiError(500, t('login.noToken'), data);
        Auth.set(data.token);
        password.value = '';
        // The built-in password is public knowledge: the first screen asks for a new one.
        if (data.default_password) showNewPassword(data.password_key || 'password');
        else showApp();
      } catch (e) {
        let text = e.message;
        if (e.status === 401) text = t('login.wrong');
        else if (e.status === 429) text = t('login.tooMany') + ' ' + (e.message || '');
        errorBox.textContent = text;
        errorBox.hidden = false;
      } finally {
        setBusy(submit, false);
      }
    });

    if (logout) {
      logout.addEventListener('click', async () => {
        const token = Auth.get();
        Auth.clear();
        showLogin();
        if (token) {
          // Best effort: the server forgets the session; the page has already dropped it.
          fetch('/auth/logout', { method: 'POST', headers: { Authorization: 'Bearer ' + token } }).catch(() => {});
        }
      });
    }

    if (Auth.get()) showApp();
    else showLogin();

    return { showLogin, showApp };
  }

  window.GC = {
    t,
    Auth,
    ApiError,
    api,
    apiRequest,
    uploadWithProgress,
    downloadWithAuth,
    copyText,
    copyWithToast,
    confirmDialog,
    escapeHtml,
    h,
    svg,
    clear,
    replace,
    $,
    toast,
    reportError,
    onUnauthorized,
    initLoginGate,
    parseTime,
    formatLocal,
    formatUtc,
    formatTime,
    formatDuration,
    formatRelative,
    formatNumber,
    basename,
    meter,
    nextDailyReset,
    setBusy,
    withBusy,
    panels: {},
  };
})();
