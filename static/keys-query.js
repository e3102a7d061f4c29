/* Public self-service page: an API key holder looks up the key's quota and per-model usage. */
(function () {
  'use strict';
  const { $, h, replace, api, setBusy, formatNumber, formatTime, meter, t } = GC;

  const form = $('#query-form');
  const input = $('#query-key');
  const button = $('#query-submit');
  const errorBox = $('#query-error');
  const result = $('#query-result');

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
    result.hidden = true;
    replace(result);
  }

  function stat(label, value, id) {
    return h('div', { class: 'stat', id },
      h('div', { class: 'stat-value' }, value), h('div', { class: 'stat-label' }, label));
  }

  const KINDS = ['requests', 'tokens', 'cost'];
  // Written out so every key the page uses is a literal (tests/e2e/i18n-tables.test.mjs finds them).
  const KIND_LABELS = {
    requests: () => t('query.kind.requests'), tokens: () => t('query.kind.tokens'), cost: () => t('query.kind.cost'),
  };
  const WINDOW_LABELS = {
    '1m': () => t('win.1m'), '1h': () => t('win.1h'), '1d': () => t('win.1d'), '7d': () => t('win.7d'),
    '30d': () => t('win.30d'), day: () => t('win.day'), month: () => t('win.month'),
  };

  /** "used / limit" of one kind; the used figure alone when the window does not limit that kind. */
  function usedOfLimit(w, kind) {
    const used = Number((w.used || {})[kind]) || 0;
    const limit = (w.limit || {})[kind];
    if (limit == null) return h('span', { class: 'muted' }, formatNumber(used));
    const full = used >= Number(limit);
    return h('span', { class: full ? 'badge danger' : 'num-whole' }, formatNumber(used) + ' / ' + formatNumber(limit));
  }

  function windowLabel(name) {
    return Object.prototype.hasOwnProperty.call(WINDOW_LABELS, name) ? WINDOW_LABELS[name]() : '';
  }

  /** The key's limit windows (use, limit per kind, when each renews, in local time); none: nothing. */
  function windowsTable(windows) {
    if (!Array.isArray(windows) || !windows.length) return null;
    return [
      h('h3', null, t('query.windows')),
      h('p', { class: 'hint' }, t('query.windowsHint')),
      h('div', { class: 'table-wrap' }, h('table', { id: 'query-windows' },
        h('thead', null, h('tr', null,
          h('th', { scope: 'col' }, t('query.window')),
          h('th', { scope: 'col' }, t('th.model')),
          KINDS.map((kind) => h('th', { scope: 'col', class: 'num' }, KIND_LABELS[kind]())),
          h('th', { scope: 'col' }, t('query.renews')))),
        h('tbody', null, windows.map((w) => h('tr', { dataset: { window: String(w.window || ''), model: w.model == null ? '' : String(w.model) } },
          h('td', null, h('code', null, String(w.window || '')), ' ', h('span', { class: 'small muted' }, windowLabel(String(w.window || '')))),
          h('td', null, w.model == null ? h('span', { class: 'muted' }, t('query.allModels')) : h('code', { class: 'wrap-any' }, String(w.model))),
          KINDS.map((kind) => h('td', { class: 'num', dataset: { kind } }, usedOfLimit(w, kind))),
          h('td', { dataset: { kind: 'renews' } }, w.renews_at ? formatTime(w.renews_at) : '\u2014')))))),
    ];
  }

  function render(data) {
    const total = Number(data.total_quota) || 0;
    const used = Number(data.used_quota) || 0;
    const remaining = data.remaining_quota != null ? Number(data.remaining_quota) : Math.max(0, total - used);
    const pct = data.usage_percentage != null ? Number(data.usage_percentage) : total > 0 ? (used / total) * 100 : 0;
    const stats = Object.entries(data.model_stats && typeof data.model_stats === 'object' ? data.model_stats : {})
      .sort((a, b) => Number(b[1]) - Number(a[1]));

    replace(result,
      h('div', { class: 'card-head' },
        h('h2', null, t('query.key') + ' ', h('code', { class: 'wrap-any' }, String(data.api_key || ''))),
        remaining <= 0 ? h('span', { class: 'badge danger' }, t('query.usedUp')) : h('span', { class: 'badge ok' }, t('query.active'))),
      data.description ? h('p', { class: 'wrap-any' }, String(data.description)) : null,
      h('div', { class: 'stats compact' },
        stat(t('query.total'), formatNumber(total), 'query-total'),
        stat(t('query.used'), formatNumber(used), 'query-used'),
        stat(t('query.remaining'), formatNumber(remaining), 'query-remaining')),
      meter(t('query.usedPct', { pct: isFinite(pct) ? pct.toFixed(2) : '0' }), used, total, 'big'),
      data.created_at ? h('p', { class: 'hint mt' }, t('query.created', { at: formatTime(data.created_at) })) : null,
      windowsTable(data.windows),
      h('h3', null, t('query.perModel')),
      h('p', { class: 'hint' }, t('query.prefixA') + ' ', h('code', null, '假流式/'), ' ' + t('query.prefixB') + ' ',
        h('code', null, '流式抗截断/'), ' ' + t('query.prefixC')),
      stats.length
        ? h('div', { class: 'table-wrap' }, h('table', { id: 'query-models' },
          h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('th.model')), h('th', { scope: 'col', class: 'num' }, t('query.costUsed')),
            h('th', { scope: 'col', class: 'num' }, t('query.share')))),
          h('tbody', null, stats.map(([model, n]) => h('tr', { dataset: { model } },
            h('td', null, h('code', { class: 'wrap-any' }, model)),
            h('td', { class: 'num' }, h('span', { class: 'num-whole' }, formatNumber(n))),
            h('td', { class: 'num' }, used > 0 ? ((Number(n) / used) * 100).toFixed(1) + '%' : '\u2014'))))))
        : h('p', { class: 'muted' }, t('query.unused')));
    const bar = result.querySelector('.meter.big .bar');
    if (bar) bar.classList.add('big');
    result.hidden = false;
  }

  $('#query-show').addEventListener('change', (event) => {
    input.type = event.target.checked ? 'text' : 'password';
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    errorBox.hidden = true;
    const key = input.value.trim();
    if (!key) {
      showError(t('query.pasteFirst'));
      input.focus();
      return;
    }
    setBusy(button, true, t('query.checking'));
    try {
      const data = await api.post('/auth/query', { api_key: key }, { auth: false });
      render(data || {});
    } catch (e) {
      if (e.status === 404) showError(t('query.notFound'));
      else if (e.status === 400) showError(t('query.rejected', { error: e.message }));
      else if (e.status === 429) showError(t('query.tooMany'));
      else showError(t('query.failed', { error: e.message }));
    } finally {
      setBusy(button, false);
    }
  });
})();
