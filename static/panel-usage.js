/* Usage tab: totals, next reset (local and UTC), SVG charts (calls per day, per model, success rate)
   and a per-credential table whose daily limits can be edited and whose counters can be reset. */
(function () {
  'use strict';
  const {
    $, h, replace, api, toast, reportError, confirmDialog, withBusy, formatNumber, formatLocal, formatUtc,
    formatDuration, parseTime, nextDailyReset, charts,
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
      stat('Credentials', formatNumber(d.total_files || 0), 'usage-total-files'),
      stat('Calls today (all models)', formatNumber(d.total_all_model_calls || 0), 'usage-total-calls'),
      stat('gemini-2.5-pro calls', formatNumber(d.total_gemini_2_5_pro_calls || 0), 'usage-pro-calls'),
      stat('Avg calls per credential', formatNumber(d.avg_total_per_file || 0)),
      stat('Avg pro calls per credential', formatNumber(d.avg_gemini_2_5_pro_per_file || 0)),
      stat('Success rate', rate == null ? '\u2014' : rate.toFixed(1) + '%', 'usage-success-rate'));

    const reset = parseTime(d.next_reset_time) || nextDailyReset();
    const left = (reset.getTime() - Date.now()) / 1000;
    replace($('#usage-reset'),
      'Next reset: ', h('strong', null, formatLocal(reset)), ' local \u00b7 ', h('strong', null, formatUtc(reset)),
      left > 0 ? ' (in ' + formatDuration(left) + ')' : '', '. Counters reset every day at 07:00 UTC.');

    charts.columns($('#chart-history'), historyPoints(d.history), { title: 'Calls per day', emptyText: 'No call history yet.' });
    const models = Object.entries(d.calls_per_model || {})
      .map(([label, value]) => ({ label, value: Number(value) || 0 }))
      .sort((a, b) => b.value - a.value)
      .slice(0, MAX_MODELS);
    charts.hbars($('#chart-models'), models, { title: 'Calls per model', emptyText: 'No calls recorded yet.' });
    charts.split($('#chart-success'), d.success_total, d.failure_total);
  }

  function limitInput(filename, field, value, label) {
    return h('input', {
      type: 'number', min: '0', step: '1', value: value == null ? '' : String(value),
      dataset: { field }, 'aria-label': label + ' for ' + filename,
    });
  }

  function renderPerCredential(data) {
    const entries = Object.entries(data || {}).sort((a, b) => a[0].localeCompare(b[0]));
    const body = $('#usage-body');
    if (!entries.length) {
      replace(body, h('tr', null, h('td', { colspan: 7, class: 'empty' }, 'No usage recorded yet.')));
    } else {
      replace(body, entries.map(([filename, s]) => {
        const perModel = Object.entries(s.calls_per_model || {});
        return h('tr', { dataset: { filename } },
          h('td', { 'data-label': 'File' }, h('div', null, h('div', { class: 'cell-file' }, filename),
            perModel.length ? h('details', null, h('summary', { class: 'small' }, 'Per model'),
              h('div', { class: 'detail-body' }, perModel.map(([m, n]) => m + ': ' + formatNumber(n) + '\n'))) : null)),
          h('td', { 'data-label': 'All models', class: 'num' }, formatNumber(s.total_calls || 0)),
          h('td', { 'data-label': 'Total limit' }, limitInput(filename, 'total_limit', s.daily_limit_total, 'Daily total limit')),
          h('td', { 'data-label': 'gemini-2.5-pro', class: 'num' }, formatNumber(s.gemini_2_5_pro_calls || 0)),
          h('td', { 'data-label': 'Pro limit' }, limitInput(filename, 'gemini_2_5_pro_limit', s.daily_limit_gemini_2_5_pro, 'Daily gemini-2.5-pro limit')),
          h('td', { 'data-label': 'Success / failed' }, formatNumber(s.success_total || 0) + ' / ' + formatNumber(s.failure_total || 0)),
          h('td', { 'data-label': 'Actions' }, h('div', { class: 'btn-group' },
            h('button', { type: 'button', class: 'btn btn-sm', dataset: { action: 'save-limits' }, 'aria-label': 'Save limits for ' + filename }, 'Save'),
            h('button', { type: 'button', class: 'btn btn-sm btn-danger', dataset: { action: 'reset' }, 'aria-label': 'Reset counters of ' + filename }, 'Reset'))));
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
          text: pct.toFixed(1) + '% of ' + formatNumber(ok + bad),
        };
      })
      .filter(Boolean);
    charts.hbars($('#chart-success-creds'), rates, { max: 100, title: 'Success rate per credential', emptyText: 'No calls recorded yet.' });
  }

  async function load() {
    try {
      const [aggregated, perFile] = await Promise.all([api.get('/usage/aggregated'), api.get('/usage/stats')]);
      stale = false;
      renderAggregated(aggregated && aggregated.data);
      renderPerCredential(perFile && perFile.data);
    } catch (e) {
      if (e.status !== 401) {
        replace($('#usage-body'), h('tr', null, h('td', { colspan: 7, class: 'empty' }, 'Could not load usage: ' + e.message)));
        reportError(e, 'Usage');
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
        toast('Limits must be whole numbers of 0 or more.', 'error');
        input.focus();
        return;
      }
      body[input.dataset.field] = n;
    }
    const data = await withBusy(button, '\u2026', () => api.post('/usage/update-limits', body));
    if (data) toast(data.message || 'Limits saved for ' + filename + '.', 'ok');
  }

  async function reset(button, filename) {
    const ok = await confirmDialog(filename
      ? 'Reset today\u2019s usage counters of "' + filename + '"?'
      : 'Reset today\u2019s usage counters of every credential?', 'Reset');
    if (!ok) return;
    const data = await withBusy(button, '\u2026', () => api.post('/usage/reset', filename ? { filename } : {}));
    if (data) {
      toast(data.message || 'Counters reset.', 'ok');
      load();
    }
  }

  GC.panels.usage = {
    mount() {
      $('#usage-refresh').addEventListener('click', () => load());
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
