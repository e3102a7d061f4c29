/* Quota: Google's own numbers per credential and model (a bar per bucket, the time to its reset, the
   snapshot's age, credits, a refresh button) and the pool summary above the list. Loaded before
   panel-creds.js, which draws a quota row under each credential with GC.quota. */
(function () {
  'use strict';
  const { $, h, replace, api, apiRequest, toast, withBusy, formatNumber, parseTime, t } = GC;

  // A pool this small is summarised whole with one extra request (a page size the listing accepts);
  // a larger one only over the page shown, so 100,000 credentials never mean 100,000 entries.
  const POOL_FETCH_MAX = 500;

  let hooks = { find: () => undefined, reload: () => {} };
  const pool = { entries: [], scope: 'page', total: 0, seq: 0 };

  /** "3 h 12 min", "4 min", "12 s": minutes are enough for quotas that reset in hours. */
  function span(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const d = Math.floor(s / 86400);
    const hrs = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    if (d > 0) return t('quota.spanDh', { d, h: hrs });
    if (hrs > 0) return t('quota.spanHm', { h: hrs, m });
    if (m > 0) return t('quota.spanM', { m });
    return t('quota.spanS', { s });
  }

  // Texts that count up or down; tick() redraws them from their data-at (unix ms).
  const LIVE = {
    reset: (at, now) => (at > now ? t('quota.resetsIn', { d: span((at - now) / 1000) }) : t('quota.resetDue')),
    next: (at, now) => (at > now ? t('time.in', { d: span((at - now) / 1000) }) : t('quota.resetDue')),
    fetched: (at, now) => t('quota.fetchedAgo', { d: span((now - at) / 1000) }),
    lastGood: (at, now) => t('quota.lastGood', { d: span((now - at) / 1000) }),
  };

  function live(kind, at, attrs) {
    const node = h('span', Object.assign({ title: new Date(at).toLocaleString() }, attrs || {}), LIVE[kind](at, Date.now()));
    node.dataset.live = kind;
    node.dataset.at = String(at);
    return node;
  }

  function tick(now) {
    for (const node of document.querySelectorAll('#panel-creds [data-live]')) {
      const text = LIVE[node.dataset.live];
      if (text) node.textContent = text(Number(node.dataset.at), now);
    }
  }

  function fractionOf(bucket) {
    const f = bucket && bucket.remaining_fraction;
    return typeof f === 'number' && isFinite(f) ? Math.min(1, Math.max(0, f)) : null;
  }

  /** A bar filled by the fraction left: amber under 20 %, red when nothing is left. */
  function bar(label, fraction) {
    const pct = fraction == null ? 0 : fraction * 100;
    const fill = h('div', { class: 'bar-fill' + (fraction == null ? '' : pct <= 0 ? ' danger' : pct < 20 ? ' warn' : '') });
    fill.style.width = pct.toFixed(1) + '%';
    return h('div', {
      class: 'bar', role: 'progressbar', 'aria-label': label,
      'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': fraction == null ? null : pct.toFixed(0),
    }, fill);
  }

  /** The percentage left, amber when low and red when nothing is left (an empty bar alone is easy to miss). */
  function percentView(fraction) {
    const level = fraction == null ? '' : fraction <= 0 ? ' is-empty' : fraction < 0.2 ? ' is-low' : '';
    return h('span', { class: 'num-whole quota-pct' + level },
      fraction == null ? t('quota.unknown') : Math.round(fraction * 100) + '%');
  }

  function bucketView(bucket, label) {
    const fraction = fractionOf(bucket);
    const numbers = [percentView(fraction)];
    const remaining = bucket.remaining;
    if (remaining != null && bucket.limit != null) {
      numbers.push(' \u00b7 ', h('span', { class: 'num-whole quota-amount' }, formatNumber(remaining) + ' / ' + formatNumber(bucket.limit)));
    } else if (remaining != null) {
      numbers.push(' \u00b7 ', h('span', { class: 'num-whole quota-amount' }, t('quota.remainingOnly', { n: formatNumber(remaining) })));
    }
    const reset = parseTime(bucket.reset_time);
    return h('div', { class: 'quota-bucket', dataset: { model: String(bucket.model || '') } },
      h('div', { class: 'meter-label' }, h('code', { class: 'wrap-any' }, label), h('span', { class: 'meter-numbers' }, numbers)),
      bar(t('quota.barLabel', { model: label }), fraction),
      reset ? h('div', { class: 'small muted' }, live('reset', reset.getTime(), { class: 'quota-reset' })) : null);
  }

  /** The snapshot's age, or the last fetch's error and the age of the last good snapshot. */
  function ageView(item) {
    const fetched = parseTime(item.quota_fetched_at);
    if (item.quota_error) {
      return h('span', { class: 'small quota-age' },
        h('span', { class: 'badge danger' }, t('quota.fetchFailed')), ' ',
        h('code', { class: 'wrap-any quota-error' }, String(item.quota_error)), ' \u00b7 ',
        fetched ? live('lastGood', fetched.getTime(), { class: 'muted' }) : h('span', { class: 'muted' }, t('quota.notFetched')));
    }
    if (!fetched) return h('span', { class: 'small muted quota-age' }, t('quota.notFetched'));
    return h('span', { class: 'small muted quota-age' }, live('fetched', fetched.getTime()));
  }

  function creditsView(credits) {
    if (!credits.length) return null;
    return h('span', { class: 'small quota-credits' }, t('quota.credits') + ' ',
      credits.map((c, i) => [i ? ', ' : '', h('code', null, String(c.type || '?') + ': ' + formatNumber(c.amount))]));
  }

  /** The quota row under a credential's row, or null for a kind Google gives no quota for. */
  function row(item, columns) {
    const name = String(item.filename || '');
    const quota = Array.isArray(item.quota) ? item.quota.filter((b) => b && b.model) : [];
    const credits = Array.isArray(item.credits) ? item.credits : [];
    const kind = String(item.kind || 'code_assist');
    if (kind !== 'code_assist' && !quota.length && !credits.length && !item.quota_error) return null;
    // A model with buckets of several token types names the type on each.
    const seen = new Map();
    for (const b of quota) seen.set(b.model, (seen.get(b.model) || 0) + 1);
    const buckets = quota.map((b) => bucketView(b, seen.get(b.model) > 1 && b.token_type ? b.model + ' (' + b.token_type + ')' : String(b.model)));
    const refresh = h('button', {
      type: 'button', class: 'btn btn-sm', dataset: { quotaRefresh: '' }, 'aria-label': t('quota.refreshOn', { file: name }),
    }, t('quota.refresh'));
    const fetchedEmpty = !quota.length && item.quota_fetched_at && !item.quota_error;
    return h('tr', { class: 'quota-row', dataset: { quotaFor: name } },
      h('td', { colspan: columns, class: 'no-label' }, h('div', { class: 'quota-cell' },
        h('div', { class: 'quota-head' }, h('strong', { class: 'small' }, t('quota.label')), ageView(item), creditsView(credits),
          h('span', { class: 'spacer' }), refresh),
        buckets.length ? h('div', { class: 'quota-grid' }, buckets) : null,
        fetchedEmpty ? h('div', { class: 'small muted' }, t('quota.noBuckets')) : null)));
  }

  const FIELDS = ['quota', 'credits', 'quota_fetched_at', 'quota_error'];

  function adopt(target, fresh) {
    for (const key of FIELDS) target[key] = fresh[key] === undefined ? null : fresh[key];
  }

  async function refreshOne(button, name) {
    const data = await withBusy(button, t('common.refreshing'), () => api.post('/creds/quota/refresh', { names: [name] }));
    if (!data) return;
    const fresh = (Array.isArray(data.credentials) ? data.credentials : []).find((c) => c && c.name === name);
    if (!fresh) {
      toast(t('quota.notRefreshed', { file: name }), 'warn');
      return;
    }
    const item = hooks.find(name);
    if (item) {
      adopt(item, fresh);
      for (const old of document.querySelectorAll('#creds-body tr[data-quota-for]')) {
        if (old.dataset.quotaFor === name) old.replaceWith(row(item, old.firstElementChild.colSpan));
      }
    }
    for (const entry of pool.entries) if (entry !== item && entry.filename === name) adopt(entry, fresh);
    renderPool();
    if (fresh.quota_error) toast(t('quota.refreshFailed', { file: name, error: fresh.quota_error }), 'warn');
    else toast(t('quota.refreshed', { file: name }), 'ok');
  }

  async function refreshAll(button) {
    // No body: the gateway refreshes every credential.
    const data = await withBusy(button, t('common.refreshing'), () => apiRequest('POST', '/creds/quota/refresh'));
    if (!data) return;
    const n = Array.isArray(data.credentials) ? data.credentials.length : 0;
    toast(t('quota.refreshedAll', { n: formatNumber(n) }), 'ok');
    hooks.reload();
  }

  // ---------- pool summary ----------

  /** Per model: mean fraction left over the credentials that report it, how many have some left, next reset. */
  function models(entries) {
    const now = Date.now();
    const out = new Map();
    for (const item of entries) {
      // A credential with several buckets for one model is as limited as its emptiest.
      const mine = new Map();
      for (const b of Array.isArray(item.quota) ? item.quota : []) {
        if (!b || !b.model) continue;
        const m = mine.get(b.model) || { fraction: null, reset: null };
        const f = fractionOf(b);
        if (f != null) m.fraction = m.fraction == null ? f : Math.min(m.fraction, f);
        const reset = parseTime(b.reset_time);
        if (reset && reset.getTime() > now) m.reset = m.reset == null ? reset.getTime() : Math.min(m.reset, reset.getTime());
        mine.set(b.model, m);
      }
      for (const [model, m] of mine) {
        const sum = out.get(model) || { model, total: 0, known: 0, left: 0, reset: null };
        if (m.fraction != null) {
          sum.total += m.fraction;
          sum.known += 1;
          if (m.fraction > 0) sum.left += 1;
        }
        if (m.reset != null) sum.reset = sum.reset == null ? m.reset : Math.min(sum.reset, m.reset);
        out.set(model, sum);
      }
    }
    return Array.from(out.values()).sort((a, b) => a.model.localeCompare(b.model));
  }

  function renderPool() {
    const n = pool.entries.length;
    $('#quota-pool-scope').textContent = pool.scope === 'all'
      ? t('quota.scopeAll', { n: formatNumber(n) })
      : t('quota.scopePage', { n: formatNumber(n), total: formatNumber(pool.total) });
    const rows = models(pool.entries);
    if (!rows.length) {
      replace($('#quota-pool-body'), h('tr', null, h('td', { colspan: 4, class: 'empty' }, t('quota.noneKnown'))));
      return;
    }
    replace($('#quota-pool-body'), rows.map((m) => {
      const mean = m.known ? m.total / m.known : null;
      return h('tr', { dataset: { model: m.model } },
        h('td', { 'data-label': t('th.model') }, h('code', { class: 'wrap-any' }, m.model)),
        h('td', { 'data-label': t('quota.colMean') }, h('div', { class: 'quota-mean' },
          percentView(mean), bar(t('quota.barLabel', { model: m.model }), mean))),
        h('td', { 'data-label': t('quota.colWithQuota') },
          h('span', { class: 'num-whole quota-count', title: t('quota.countTitle', { n: m.left, known: m.known }) }, t('quota.count', { n: m.left, known: m.known }))),
        h('td', { 'data-label': t('quota.colNextReset') },
          m.reset != null ? live('next', m.reset, { class: 'quota-next' }) : h('span', { class: 'muted' }, '\u2014')));
    }));
  }

  /**
   * Called after each load of the list: summarises the whole pool when it is the page shown or fits in
   * one more request, else the page shown (and says so).
   */
  async function summarise(page) {
    const seq = ++pool.seq;
    pool.total = page.poolTotal;
    const wholePage = !page.filtered && page.offset === 0 && !page.hasMore && page.items.length >= page.poolTotal;
    let entries = page.items;
    let scope = wholePage ? 'all' : 'page';
    if (!wholePage && page.poolTotal <= POOL_FETCH_MAX) {
      try {
        const data = await api.get('/creds/status?offset=0&limit=' + POOL_FETCH_MAX);
        if (Array.isArray(data && data.items) && !data.has_more) {
          entries = data.items;
          scope = 'all';
        }
      } catch (_) {
        /* the page's own entries still give a summary */
      }
    }
    if (seq !== pool.seq) return;
    pool.entries = entries;
    pool.scope = scope;
    renderPool();
  }

  function mount(handlers) {
    hooks = handlers;
    $('#creds-body').addEventListener('click', (event) => {
      const button = event.target.closest('button[data-quota-refresh]');
      const owner = button && button.closest('tr[data-quota-for]');
      if (owner) refreshOne(button, owner.dataset.quotaFor);
    });
    $('#quota-refresh-all').addEventListener('click', (event) => refreshAll(event.currentTarget));
  }

  GC.quota = { mount, row, tick, summarise };
})();
