/* Audit tab: who did which admin action (GET /audit), filtered by action, paged backwards in time with
   `before`, and exported as CSV or JSON (GET /audit/export). */
(function () {
  'use strict';
  const { $, h, replace, api, reportError, downloadWithAuth, t } = GC;

  const PAGE = 50;
  /** Each action's label key, spelled out so the key check sees every one. */
  const LABELS = {
    login: 'audit.actLogin',
    login_failed: 'audit.actLoginFailed',
    key_created: 'audit.actKeyCreated',
    key_updated: 'audit.actKeyUpdated',
    key_deleted: 'audit.actKeyDeleted',
    credential_added: 'audit.actCredentialAdded',
    credential_removed: 'audit.actCredentialRemoved',
    credential_enabled: 'audit.actCredentialEnabled',
    credential_disabled: 'audit.actCredentialDisabled',
    cooldown_cleared: 'audit.actCooldownCleared',
    config_saved: 'audit.actConfigSaved',
    quota_refreshed: 'audit.actQuotaRefreshed',
  };
  const label = (action) => (LABELS[action] ? t(LABELS[action]) : action);

  let stale = true;
  /** `before` of each page shown so far: the first is the newest (none). */
  let pages = [null];
  let lastTime = null;

  function params(before) {
    const query = new URLSearchParams();
    query.set('limit', String(PAGE));
    const action = $('#audit-action').value;
    if (action) query.set('action', action);
    if (before) query.set('before', String(before));
    return query;
  }

  function changesText(changes) {
    if (changes === null || changes === undefined) return '\u2014';
    return typeof changes === 'string' ? changes : JSON.stringify(changes);
  }

  function row(e) {
    return h('tr', { dataset: { action: e.action } },
      h('td', { 'data-label': t('audit.colTime') }, GC.formatLocal(new Date(e.time))),
      h('td', { 'data-label': t('audit.colAction') }, h('span', { class: 'badge ' + (e.action === 'login_failed' ? 'warn' : 'info') }, label(e.action))),
      h('td', { 'data-label': t('audit.colActor') }, h('code', { class: 'wrap-any' }, e.actor)),
      h('td', { 'data-label': t('audit.colAddress') }, e.address ? h('code', null, e.address) : '\u2014'),
      h('td', { 'data-label': t('audit.colTarget') }, e.target ? h('code', { class: 'wrap-any' }, e.target) : '\u2014'),
      h('td', { 'data-label': t('audit.colChanges') }, h('code', { class: 'wrap-any small' }, changesText(e.changes))));
  }

  async function load() {
    const before = pages[pages.length - 1];
    try {
      const data = await api.get('/audit?' + params(before).toString());
      stale = false;
      const list = Array.isArray(data && data.entries) ? data.entries : [];
      lastTime = list.length ? list[list.length - 1].time : null;
      replace($('#audit-body'), list.length
        ? list.map(row)
        : h('tr', null, h('td', { colspan: 6, class: 'empty' }, t('audit.none'))));
      $('#audit-older').disabled = list.length < PAGE;
      $('#audit-newer').disabled = pages.length <= 1;
      $('#audit-page').textContent = t('audit.page', { n: pages.length });
    } catch (e) {
      if (e.status !== 401) {
        replace($('#audit-body'), h('tr', null, h('td', { colspan: 6, class: 'empty' }, t('audit.loadFailed', { error: e.message }))));
        reportError(e, t('tab.audit'));
      }
    }
  }

  function first() {
    pages = [null];
    load();
  }

  async function exportAs(format) {
    const query = new URLSearchParams({ format });
    const action = $('#audit-action').value;
    if (action) query.set('action', action);
    try {
      await downloadWithAuth('/audit/export?' + query.toString(), 'audit.' + format);
    } catch (e) {
      reportError(e, t('tab.audit'));
    }
  }

  GC.panels.audit = {
    mount() {
      const select = $('#audit-action');
      for (const action of Object.keys(LABELS)) select.append(h('option', { value: action }, label(action)));
      select.addEventListener('change', first);
      $('#audit-refresh').addEventListener('click', first);
      $('#audit-older').addEventListener('click', () => {
        if (lastTime === null) return;
        pages.push(lastTime);
        load();
      });
      $('#audit-newer').addEventListener('click', () => {
        if (pages.length > 1) pages.pop();
        load();
      });
      $('#audit-export-csv').addEventListener('click', () => exportAs('csv'));
      $('#audit-export-json').addEventListener('click', () => exportAs('json'));
    },
    enter() {
      stale = true;
    },
    show() {
      if (stale) first();
    },
    leave() {
      replace($('#audit-body'));
    },
  };
})();
