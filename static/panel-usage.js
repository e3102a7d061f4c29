/* Usage tab: totals, next reset (local and UTC), SVG charts (calls per day, per model, success rate)
   and a per-credential table whose daily limits can be edited and whose counters can be reset. */
(function () {
  'use strict';
  const {
    $, h, replace, api, toast, reportError, confirmDialog, withBusy, formatNumber, formatLocal, formatUtc,
    formatDuration, parseTime, nextDailyReset, charts, downloadWithAuth, t,
  } = GC;

  const HISTORY_DAYS = 30;
  const MAX_MODELS = 15;
  let stale = true;

  function stat(label, value, id) {
    return h('div', { class: 'stat', id },
      h('div', { class: 'stat-value' }, value), h('div', { class: 'stat-label' }, label));
  }

  function ratePercent(data) {
    const ok = Number(data.success_total) || 0;
    const bad = Number(data.failure_total) || 0;
    if (ok + bad > 0) return (ok / (ok + bad)) * 100;
    const rate = Number(data.success_rate);
    if (!isFinite(rate)) return null;
    return rate <= 1 ? rate * 100 : rate;
  }

  /** Fills missing days with zero so gaps show, keeping the last HISTORY_DAYS days that have data around them. */
  function historyPoints(history) {
    const keys = Object.keys(history || {}).filter((k) => /^\d{4}-\d{2}-\d{2}$/.test(k)).sort();
    if (!keys.length) return [];
    const points = [];
    const day = new Date(keys[0] + 'T00:00:00Z');
    const last = new Date(keys[keys.length - 1] + 'T00:00:00Z');
    while (day.getTime() <= last.getTime()) {
      const key = day.toISOString().slice(0, 10);
      points.push({ label: key, short: key.slice(5), value: Number(history[key]) || 0 });
      day.setUTCDate(day.getUTCDate() + 1);
    }
    return points.slice(-HISTORY_DAYS);
  }

  function renderAggregated(data) {
    const d = data || {};
    const rate = ratePercent(d);
    replace($('#usage-totals'),
      stat(t('usage.statCreds'), formatNumber(d.total_files || 0), 'usage-total-files'),
      stat(t('usage.statCallsToday'), formatNumber(d.total_all_model_calls || 0), 'usage-total-calls'),
      stat(t('usage.statProCalls'), formatNumber(d.total_gemini_2_5_pro_calls || 0), 'usage-pro-calls'),
      stat(t('usage.statAvg'), formatNumber(d.avg_total_per_file || 0)),
      stat(t('usage.statAvgPro'), formatNumber(d.avg_gemini_2_5_pro_per_file || 0)),
      stat(t('usage.statRate'), rate == null ? '\u2014' : rate.toFixed(1) + '%', 'usage-success-rate'));

    const reset = parseTime(d.next_reset_time) || nextDailyReset();
    const left = (reset.getTime() - Date.now()) / 1000;
    replace($('#usage-reset'),
      t('usage.nextReset') + ' ', h('strong', null, formatLocal(reset)), ' ' + t('usage.local') + ' \u00b7 ',
      h('strong', null, formatUtc(reset)),
      left > 0 ? ' (' + t('time.in', { d: formatDuration(left) }) + ')' : '', t('usage.resetNote'));

    charts.columns($('#chart-history'), historyPoints(d.history), { title: t('usage.callsPerDay'), emptyText: t('usage.noHistory') });
    const models = Object.entries(d.calls_per_model || {})
      .map(([label, value]) => ({ label, value: Number(value) || 0 }))
      .sort((a, b) => b.value - a.value)
      .slice(0, MAX_MODELS);
    charts.hbars($('#chart-models'), models, { title: t('usage.callsPerModel'), emptyText: t('usage.noCalls') });
    charts.split($('#chart-success'), d.success_total, d.failure_total);
  }

  function limitInput(filename, field, value, label) {
    return h('input', {
      type: 'number', min: '0', step: '1', value: value == null ? '' : String(value),
      dataset: { field }, 'aria-label': t('usage.limitFor', { label, file: filename }),
    });
  }

  function renderPerCredential(data) {
    const entries = Object.entries(data || {}).sort((a, b) => a[0].localeCompare(b[0]));
    const body = $('#usage-body');
    if (!entries.length) {
      replace(body, h('tr', null, h('td', { colspan: 7, class: 'empty' }, t('usage.noUsage'))));
    } else {
      replace(body, entries.map(([filename, s]) => {
        const perModel = Object.entries(s.calls_per_model || {});
        return h('tr', { dataset: { filename } },
          h('td', { 'data-label': t('th.file') }, h('div', null, h('div', { class: 'cell-file' }, filename),
            perModel.length ? h('details', null, h('summary', { class: 'small' }, t('th.perModel')),
              h('div', { class: 'detail-body' }, perModel.map(([m, n]) => m + ': ' + formatNumber(n) + '\n'))) : null)),
          h('td', { 'data-label': t('th.allModels'), class: 'num' }, formatNumber(s.total_calls || 0)),
          h('td', { 'data-label': t('th.totalLimit') }, limitInput(filename, 'total_limit', s.daily_limit_total, t('usage.dailyTotalLimit'))),
          h('td', { 'data-label': 'gemini-2.5-pro', class: 'num' }, formatNumber(s.gemini_2_5_pro_calls || 0)),
          h('td', { 'data-label': t('th.proLimit') }, limitInput(filename, 'gemini_2_5_pro_limit', s.daily_limit_gemini_2_5_pro, t('usage.dailyProLimit'))),
          h('td', { 'data-label': t('th.successFailed') }, formatNumber(s.success_total || 0) + ' / ' + formatNumber(s.failure_total || 0)),
          h('td', { 'data-label': t('th.actions') }, h('div', { class: 'btn-group' },
            h('button', { type: 'button', class: 'btn btn-sm', dataset: { action: 'save-limits' }, 'aria-label': t('usage.saveLimitsFor', { file: filename }) }, t('common.save')),
            h('button', { type: 'button', class: 'btn btn-sm btn-danger', dataset: { action: 'reset' }, 'aria-label': t('usage.resetFor', { file: filename }) }, t('common.reset')))));
      }));
    }

    const rates = entries
      .map(([filename, s]) => {
        const ok = Number(s.success_total) || 0;
        const bad = Number(s.failure_total) || 0;
        if (ok + bad === 0) return null;
        const pct = (ok / (ok + bad)) * 100;
        return {
          label: filename, value: pct, cls: pct >= 90 ? 'ok' : pct >= 50 ? 'warn' : 'danger',
          text: t('usage.rateOf', { pct: pct.toFixed(1), n: formatNumber(ok + bad) }),
        };
      })
      .filter(Boolean);
    charts.hbars($('#chart-success-creds'), rates, { max: 100, title: t('usage.ratePerCred'), emptyText: t('usage.noCalls') });
  }

  // ---------- tokens per day (GET /usage/tokens) ----------

  const TOKEN_DAYS = 14;
  let tokenData = null;

  function tokenSum(c) {
    return (Number(c.input) || 0) + (Number(c.output) || 0) + (Number(c.thinking) || 0);
  }

  function keyName(hash) {
    if (hash === 'password') return t('tok.password');
    return (tokenData && tokenData.key_names && tokenData.key_names[hash]) || hash;
  }

  function fillTokenSeries() {
    const select = $('#tok-series');
    const previous = select.value;
    const models = new Set();
    const keys = new Set();
    for (const day of tokenData.days) {
      Object.keys(day.models || {}).forEach((m) => models.add(m));
      Object.keys(day.keys || {}).forEach((k) => keys.add(k));
    }
    replace(select,
      h('option', { value: '' }, t('tok.allModels')),
      models.size ? h('optgroup', { label: t('tok.models') }, Array.from(models).sort().map((m) => h('option', { value: 'm:' + m }, m))) : null,
      keys.size ? h('optgroup', { label: t('tok.keys') }, Array.from(keys).sort().map((k) => h('option', { value: 'k:' + k }, keyName(k)))) : null);
    if (Array.from(select.options).some((o) => o.value === previous)) select.value = previous;
  }

  function drawTokens() {
    if (!tokenData) return;
    const series = $('#tok-series').value;
    const byDate = new Map(tokenData.days.map((d) => [d.date, d]));
    const points = [];
    const day = new Date();
    day.setUTCDate(day.getUTCDate() - (TOKEN_DAYS - 1));
    for (let i = 0; i < TOKEN_DAYS; i++) {
      const key = day.toISOString().slice(0, 10);
      const d = byDate.get(key) || { models: {}, keys: {} };
      let value = 0;
      if (!series) value = Object.values(d.models || {}).reduce((n, c) => n + tokenSum(c), 0);
      else if (series.startsWith('m:')) value = tokenSum((d.models || {})[series.slice(2)] || {});
      else value = tokenSum((d.keys || {})[series.slice(2)] || {});
      points.push({ label: key, short: key.slice(5), value });
      day.setUTCDate(day.getUTCDate() + 1);
    }
    charts.columns($('#chart-tokens'), points, { title: t('tok.title'), emptyText: t('tok.none') });
    const models = new Map();
    const keys = new Map();
    for (const d of tokenData.days) {
      for (const [m, c] of Object.entries(d.models || {})) models.set(m, (models.get(m) || 0) + tokenSum(c));
      for (const [k, c] of Object.entries(d.keys || {})) keys.set(k, (keys.get(k) || 0) + tokenSum(c));
    }
    const bars = (map, name) => Array.from(map.entries()).filter(([, v]) => v > 0)
      .map(([label, value]) => ({ label: name(label), value })).sort((a, b) => b.value - a.value).slice(0, MAX_MODELS);
    charts.hbars($('#chart-tokens-models'), bars(models, (m) => m), { title: t('tok.perModel'), emptyText: t('tok.none') });
    charts.hbars($('#chart-tokens-keys'), bars(keys, keyName), { title: t('tok.perKey'), emptyText: t('tok.none') });
  }

  async function loadTokens() {
    try {
      const data = await api.get('/usage/tokens?days=' + TOKEN_DAYS);
      tokenData = { days: Array.isArray(data && data.days) ? data.days : [], key_names: (data && data.key_names) || {} };
      fillTokenSeries();
      drawTokens();
    } catch (e) {
      if (e.status !== 401) replace($('#chart-tokens'), h('div', { class: 'chart-empty' }, t('tok.loadFailed', { error: e.message })));
    }
  }

  /** Downloads /usage/export for the kept days, limited to the model or key the chart shows. */
  async function exportUsage(format) {
    const query = new URLSearchParams({ format });
    const series = $('#tok-series').value;
    if (series.startsWith('m:')) query.set('model', series.slice(2));
    else if (series.startsWith('k:')) query.set('key', series.slice(2));
    try {
      await downloadWithAuth('/usage/export?' + query.toString(), 'usage.' + format);
    } catch (e) {
      reportError(e, t('tab.usage'));
    }
  }

  async function load() {
    loadTokens();
    try {
      const [aggregated, perFile] = await Promise.all([api.get('/usage/aggregated'), api.get('/usage/stats')]);
      stale = false;
      renderAggregated(aggregated && aggregated.data);
      renderPerCredential(perFile && perFile.data);
    } catch (e) {
      if (e.status !== 401) {
        replace($('#usage-body'), h('tr', null, h('td', { colspan: 7, class: 'empty' }, t('usage.loadFailed', { error: e.message }))));
        reportError(e, t('tab.usage'));
      }
    }
  }

  async function saveLimits(button, row) {
    const filename = row.dataset.filename;
    const body = { filename };
    for (const input of row.querySelectorAll('input[data-field]')) {
      const raw = input.value.trim();
      if (raw === '') continue;
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 0) {
        toast(t('usage.limitsWhole'), 'error');
        input.focus();
        return;
      }
      body[input.dataset.field] = n;
    }
    const data = await withBusy(button, '\u2026', () => api.post('/usage/update-limits', body));
    if (data) toast(data.message || t('usage.limitsSaved', { file: filename }), 'ok');
  }

  async function reset(button, filename) {
    const ok = await confirmDialog(filename
      ? t('usage.confirmReset', { file: filename })
      : t('usage.confirmResetAll'), t('common.reset'));
    if (!ok) return;
    const data = await withBusy(button, '\u2026', () => api.post('/usage/reset', filename ? { filename } : {}));
    if (data) {
      toast(data.message || t('usage.countersReset'), 'ok');
      load();
    }
  }

  GC.panels.usage = {
    mount() {
      $('#usage-refresh').addEventListener('click', () => load());
      $('#tok-series').addEventListener('change', drawTokens);
      $('#usage-export-csv').addEventListener('click', () => exportUsage('csv'));
      $('#usage-export-json').addEventListener('click', () => exportUsage('json'));
      $('#usage-reset-all').addEventListener('click', (event) => reset(event.currentTarget, null));
      $('#usage-body').addEventListener('click', (event) => {
        const button = event.target.closest('button[data-action]');
        if (!button) return;
        const row = button.closest('tr[data-filename]');
        if (!row) return;
        if (button.dataset.action === 'save-limits') saveLimits(button, row);
        else if (button.dataset.action === 'reset') reset(button, row.dataset.filename);
      });
    },
    enter() {
      stale = true;
    },
    show() {
      if (stale) load();
      else charts.redrawAll();
    },
  };
})();
