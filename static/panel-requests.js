/* Requests tab: the recent request history (GET /auth/requests) with filters by status, model, key and
   credential, and one request's decision trace (GET /auth/requests/{id}) opened from its row. */
(function () {
  'use strict';
  const { $, h, replace, api, reportError, formatNumber, formatTime, t } = GC;

  let stale = true;

  function filters() {
    const params = new URLSearchParams();
    for (const [name, id] of [['status', '#req-status'], ['model', '#req-model'], ['key', '#req-key'], ['credential', '#req-credential']]) {
      const value = $(id).value.trim();
      if (value) params.set(name, value);
    }
    return params;
  }

  function statusBadge(status) {
    const cls = status >= 200 && status < 300 ? 'ok' : status === 429 || status < 500 ? 'warn' : 'danger';
    return h('span', { class: 'badge ' + cls }, String(status));
  }

  function keyLabel(r) {
    if (r.key === 'password') return t('tok.password');
    return r.key_masked || r.key || '\u2014';
  }

  function tokensText(tokens) {
    const tk = tokens || {};
    return formatNumber(tk.input || 0) + ' / ' + formatNumber(tk.output || 0);
  }

  function row(r) {
    return h('tr', { dataset: { id: r.id } },
      h('td', { 'data-label': t('req.colTime') }, h('button', {
        type: 'button', class: 'btn btn-sm', dataset: { action: 'open' }, 'aria-label': t('req.open', { id: r.id }),
      }, formatTime(r.at))),
      h('td', { 'data-label': t('req.colModel') }, r.model ? h('code', { class: 'wrap-any' }, r.model) : '\u2014'),
      h('td', { 'data-label': t('req.colStatus') }, statusBadge(r.status), r.refunded ? [' ', h('span', { class: 'badge info' }, '\u21a9')] : null),
      h('td', { 'data-label': t('req.colKey') }, h('code', { class: 'wrap-any' }, keyLabel(r)),
        r.key && r.key !== 'password' ? h('div', null, h('code', { class: 'small muted' }, r.key)) : null),
      h('td', { 'data-label': t('req.colCredential') }, r.credential ? h('code', { class: 'wrap-any' }, r.credential) : '\u2014'),
      h('td', { 'data-label': t('req.colAttempts'), class: 'num' }, String(r.attempts)),
      h('td', { 'data-label': t('req.colTokens'), class: 'num' }, h('span', { class: 'num-whole' }, tokensText(r.tokens))),
      h('td', { 'data-label': t('req.colDuration'), class: 'num' }, h('span', { class: 'num-whole' }, formatNumber(r.duration_ms) + ' ms')));
  }

  async function load() {
    try {
      const data = await api.get('/auth/requests?' + filters().toString());
      stale = false;
      const list = Array.isArray(data && data.requests) ? data.requests : [];
      replace($('#req-body'), list.length
        ? list.map(row)
        : h('tr', null, h('td', { colspan: 8, class: 'empty' }, t('req.none'))));
    } catch (e) {
      if (e.status !== 401) {
        replace($('#req-body'), h('tr', null, h('td', { colspan: 8, class: 'empty' }, t('req.loadFailed', { error: e.message }))));
        reportError(e, t('tab.requests'));
      }
    }
  }

  const DECISIONS = { answered: 'req.dAnswered', retried: 'req.dRetried', gave_up: 'req.dGaveUp' };

  function attemptsTable(attempts) {
    if (!attempts.length) return h('p', { class: 'muted' }, t('req.noAttempts'));
    const cols = ['req.attempt', 'req.aCredential', 'req.aStatus', 'req.aKind', 'req.aReason', 'req.aDecision', 'req.aLatency', 'req.aWait', 'req.aCooldown'];
    return h('div', { class: 'table-wrap has-cards' }, h('table', { id: 'trace-attempts', class: 'cards' },
      h('thead', null, h('tr', null, cols.map((c) => h('th', { scope: 'col' }, t(c))))),
      h('tbody', null, attempts.map((a, i) => h('tr', { dataset: { credential: a.credential } },
        h('td', { 'data-label': t('req.attempt'), class: 'num' }, String(i + 1)),
        h('td', { 'data-label': t('req.aCredential') }, h('code', { class: 'wrap-any' }, a.credential)),
        h('td', { 'data-label': t('req.aStatus') }, a.status ? statusBadge(a.status) : '\u2014'),
        h('td', { 'data-label': t('req.aKind') }, h('code', { class: 'wrap-any trace-kind' }, a.kind)),
        h('td', { 'data-label': t('req.aReason') }, a.reason ? h('code', { class: 'wrap-any' }, a.reason) : '\u2014'),
        h('td', { 'data-label': t('req.aDecision') }, DECISIONS[a.decision] ? t(DECISIONS[a.decision]) : a.decision),
        h('td', { 'data-label': t('req.aLatency'), class: 'num' }, h('span', { class: 'num-whole' }, formatNumber(a.latency_ms) + ' ms')),
        h('td', { 'data-label': t('req.aWait'), class: 'num' }, a.wait_ms ? h('span', { class: 'num-whole' }, formatNumber(a.wait_ms) + ' ms') : '\u2014'),
        h('td', { 'data-label': t('req.aCooldown'), class: 'num' }, a.cooldown_secs != null ? GC.formatDuration(a.cooldown_secs) : '\u2014'))))));
  }

  function renderTrace(r) {
    const tk = r.tokens || {};
    const close = h('button', { type: 'button', id: 'req-trace-close', class: 'btn btn-sm' }, t('req.close'));
    close.addEventListener('click', () => {
      $('#req-trace').hidden = true;
    });
    replace($('#req-trace'),
      h('div', { class: 'card-head' }, h('h3', null, t('req.traceTitle') + ' ', h('code', { class: 'wrap-any' }, r.id)), close),
      h('p', { id: 'trace-summary' }, t('req.summary', { method: r.method, path: r.path, status: r.status, ms: formatNumber(r.duration_ms) })),
      h('p', { class: 'hint' }, r.ttft_ms != null ? t('req.ttft', { ms: formatNumber(r.ttft_ms) }) : t('req.noTtft')),
      h('p', null, t('req.tokensLine', { input: formatNumber(tk.input || 0), output: formatNumber(tk.output || 0), thinking: formatNumber(tk.thinking || 0), cached: formatNumber(tk.cached || 0) })),
      r.quota ? h('p', null, t('req.quotaLine', { cost: formatNumber(r.quota.cost), remaining: formatNumber(r.quota.remaining_after_debit) }),
        r.quota.refunded ? [' ', h('strong', { id: 'trace-refunded' }, t('req.refunded'))] : null) : null,
      r.error ? h('p', { class: 'notice warn' }, t('req.error', { error: r.error })) : null,
      attemptsTable(Array.isArray(r.attempts) ? r.attempts : []));
    $('#req-trace').hidden = false;
  }

  async function open(id) {
    try {
      renderTrace(await api.get('/auth/requests/' + encodeURIComponent(id)));
      $('#req-trace').scrollIntoView({ block: 'nearest' });
    } catch (e) {
      reportError(e, t('tab.requests'));
    }
  }

  GC.panels.requests = {
    mount() {
      $('#req-refresh').addEventListener('click', () => load());
      $('#req-filters').addEventListener('submit', (event) => {
        event.preventDefault();
        load();
      });
      $('#req-status').addEventListener('change', () => load());
      $('#req-body').addEventListener('click', (event) => {
        const button = event.target.closest('button[data-action="open"]');
        const tr = button && button.closest('tr[data-id]');
        if (tr) open(tr.dataset.id);
      });
    },
    enter() {
      stale = true;
    },
    show() {
      if (stale) load();
    },
    leave() {
      replace($('#req-body'));
      $('#req-trace').hidden = true;
    },
  };
})();
