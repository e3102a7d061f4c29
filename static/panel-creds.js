/* Credentials tab: filtered, paged table with per-row and batch actions, downloads, e-mail
   refresh, upload with progress, and the environment-variable credential buttons. Each credential's
   quota and the pool summary are drawn by panel-quota.js (GC.quota). */
(function () {
  'use strict';
  const {
    $, h, replace, api, toast, reportError, confirmDialog, downloadWithAuth, uploadWithProgress,
    withBusy, formatDuration, formatRelative, formatTime, formatNumber, meter, parseTime, t,
  } = GC;

  const state = {
    offset: 0,
    limit: 50,
    total: 0,
    hasMore: false,
    items: [],
    selected: new Set(),
    stale: true,
    loading: false,
  };

  let ticker = 0;

  // The table's column count, for the full-width cells (empty list, quota rows).
  const COLUMNS = 9;

  const ACTION_LABELS = {
    enable: t('creds.enable'),
    disable: t('creds.disable'),
    clear_cooldown: t('creds.clearCooldown'),
    clear_model: t('creds.clearModel'),
    fetch_email: t('creds.fetchEmail'),
    download: t('creds.download'),
    delete: t('common.delete'),
  };

  function filters() {
    return {
      status_filter: $('#creds-status-filter').value,
      error_code_filter: $('#creds-error-filter').value,
      cooldown_filter: $('#creds-cooldown-filter').value,
      kind_filter: $('#creds-kind-filter').value,
    };
  }

  async function load() {
    if (state.loading) return;
    state.loading = true;
    const params = new URLSearchParams(Object.assign({ offset: String(state.offset), limit: String(state.limit) }, filters()));
    try {
      const data = await api.get('/creds/status?' + params.toString());
      state.items = Array.isArray(data && data.items) ? data.items : [];
      state.total = Number(data && data.total) || 0;
      state.hasMore = Boolean(data && data.has_more);
      state.stale = false;
      const present = new Set(state.items.map((it) => it.filename));
      for (const name of Array.from(state.selected)) if (!present.has(name)) state.selected.delete(name);
      renderStats(data && data.stats);
      renderRows();
      renderPager();
      addErrorCodeOptions();
      GC.quota.summarise({
        items: state.items,
        offset: state.offset,
        hasMore: state.hasMore,
        filtered: Object.values(filters()).some((v) => v !== 'all'),
        poolTotal: Number(data && data.stats && data.stats.total) || 0,
      });
    } catch (e) {
      if (e.status !== 401) {
        replace($('#creds-body'), h('tr', null, h('td', { colspan: COLUMNS, class: 'empty' }, t('creds.loadFailed', { error: e.message }))));
        reportError(e, t('tab.creds'));
      }
    } finally {
      state.loading = false;
    }
  }

  function renderStats(stats) {
    const s = stats || {};
    const cell = (label, value, id) => h('div', { class: 'stat', id },
      h('div', { class: 'stat-value' }, formatNumber(value || 0)), h('div', { class: 'stat-label' }, label));
    replace($('#creds-stats'),
      cell(t('creds.statTotal'), s.total, 'creds-stat-total'),
      cell(t('creds.statWorking'), s.normal, 'creds-stat-normal'),
      cell(t('creds.statDisabled'), s.disabled, 'creds-stat-disabled'),
      cell(t('creds.statCooling'), s.cooling, 'creds-stat-cooling'));
  }

  // Codes seen on the page join the filter list so any recorded code can be filtered on.
  function addErrorCodeOptions() {
    const select = $('#creds-error-filter');
    const known = new Set(Array.from(select.options).map((o) => o.value));
    for (const item of state.items) {
      for (const code of item.error_codes || []) {
        const value = String(code);
        if (!known.has(value)) {
          known.add(value);
          select.appendChild(h('option', { value }, value));
        }
      }
    }
  }

  // Each cooldown kind's badge and what it means (the badge's tooltip).
  const COOLDOWN_KINDS = {
    rate_limited: ['kind.rateLimited', 'kind.rateLimitedTitle'],
    daily_quota: ['kind.dailyQuota', 'kind.dailyQuotaTitle'],
    capacity: ['kind.capacity', 'kind.capacityTitle'],
    no_credits: ['kind.noCredits', 'kind.noCreditsTitle'],
    auth: ['kind.auth', 'kind.authTitle'],
    no_model_access: ['kind.noModelAccess', 'kind.noModelAccessTitle'],
    transient: ['kind.transient', 'kind.transientTitle'],
    client_error: ['kind.clientError', 'kind.clientErrorTitle'],
  };

  // Prefers the server's `seconds_left` (its clock decides), else the model_cooldowns map.
  function activeCooldowns(item) {
    const now = Date.now();
    const out = [];
    if (Array.isArray(item.cooldowns)) {
      for (const c of item.cooldowns) {
        const left = Number(c.seconds_left);
        if (!(left > 0)) continue;
        out.push({ model: String(c.model), until: new Date(now + left * 1000), kind: c.kind ? String(c.kind) : '', message: c.message ? String(c.message) : '' });
      }
      return out;
    }
    const cooldowns = item.model_cooldowns && typeof item.model_cooldowns === 'object' ? item.model_cooldowns : {};
    for (const [model, until] of Object.entries(cooldowns)) {
      const date = parseTime(until);
      if (date && date.getTime() > now) out.push({ model, until: date, kind: '', message: '' });
    }
    return out;
  }

  function errorsByCode(item) {
    const map = new Map();
    for (const err of Array.isArray(item.errors) ? item.errors : []) {
      const key = String(err.code);
      if (!map.has(key)) map.set(key, []);
      map.get(key).push(err);
    }
    return map;
  }

  function actionButton(action, filename, extraClass) {
    return h('button', {
      type: 'button', class: 'btn btn-sm' + (extraClass ? ' ' + extraClass : ''),
      dataset: { action }, 'aria-label': t('creds.actionOn', { action: ACTION_LABELS[action], file: filename }),
    }, ACTION_LABELS[action]);
  }

  function renderRow(item) {
    const name = String(item.filename || '');
    const checked = state.selected.has(name);
    const box = h('input', { type: 'checkbox', class: 'row-select', checked, 'aria-label': t('creds.select', { file: name }) });

    const account = h('div', { class: 'cell-file' }, name);
    const kind = String(item.kind || 'code_assist');
    const kindCell = h('span', { class: 'badge info', dataset: { kind } }, kindLabel(kind));
    // Keys are listed masked (the server never sends them whole).
    const key = item.api_key ? h('div', { class: 'small', dataset: { field: 'api-key' } }, h('code', null, String(item.api_key))) : null;
    const location = item.location ? h('div', { class: 'small muted' }, t('creds.location') + ' ', h('code', null, String(item.location))) : null;
    const email = item.user_email
      ? h('div', { class: 'wrap-any small', dataset: { field: 'email' } }, item.user_email)
      : h('div', { class: 'muted small', dataset: { field: 'email' } }, t('creds.emailUnknown'));
    const project = h('div', { class: 'wrap-any small muted' }, t('creds.project') + ' ', item.project_id ? h('code', null, item.project_id) : '\u2014');

    const status = h('div', null,
      item.disabled ? h('span', { class: 'badge danger' }, t('creds.disabled')) : h('span', { class: 'badge ok' }, t('creds.enabled')),
      item.preview === true ? ' ' : null,
      item.preview === true ? h('span', { class: 'badge info', title: t('creds.previewTitle') }, t('creds.preview')) : null,
      item.disabled && item.disabled_reason ? h('div', { class: 'small muted wrap-any' }, item.disabled_reason) : null);

    const codes = Array.isArray(item.error_codes) ? item.error_codes : [];
    const grouped = errorsByCode(item);
    let errors;
    if (!codes.length && !grouped.size) {
      errors = h('span', { class: 'muted' }, '\u2014');
    } else {
      const badges = h('div', { class: 'badges' }, codes.map((code) => {
        const messages = (grouped.get(String(code)) || []).map((e) => e.message).filter(Boolean);
        return h('span', { class: 'badge danger', title: messages.length ? messages.join('\n\n') : 'HTTP ' + code }, String(code));
      }));
      const all = Array.from(grouped.values()).flat();
      errors = h('div', null, badges, all.length ? h('details', null,
        h('summary', { class: 'small' }, t('creds.messages', { n: all.length })),
        h('div', { class: 'detail-body' }, all.map((e) => h('div', null,
          h('strong', null, String(e.code)), e.at ? ' \u00b7 ' + formatTime(e.at) : '', '\n', String(e.message || ''), '\n')))) : null);
    }

    const cooling = activeCooldowns(item);
    const cooldowns = cooling.length
      ? h('div', null, cooling.map((c) => h('div', { class: 'small cooldown', dataset: { model: c.model, kind: c.kind }, title: t('creds.until', { at: c.until.toLocaleString() }) },
        h('code', { class: 'wrap-any' }, c.model), ': ',
        c.kind ? h('span', { class: 'badge warn', title: COOLDOWN_KINDS[c.kind] ? t(COOLDOWN_KINDS[c.kind][1]) : c.kind },
          COOLDOWN_KINDS[c.kind] ? t(COOLDOWN_KINDS[c.kind][0]) : c.kind.replace(/_/g, ' ')) : null,
        c.kind ? ' ' : null,
        h('span', { class: 'cooldown-left', dataset: { until: String(c.until.getTime()) } }, formatDuration((c.until.getTime() - Date.now()) / 1000)),
        ' ',
        h('button', {
          type: 'button', class: 'btn btn-sm btn-tiny', dataset: { action: 'clear_model', model: c.model },
          'aria-label': t('creds.clearModelOn', { model: c.model, file: name }),
        }, ACTION_LABELS.clear_model),
        c.message ? h('div', { class: 'muted wrap-any cooldown-message' }, c.message) : null)))
      : h('span', { class: 'muted' }, '\u2014');

    const usage = item.usage || {};
    const usageCell = h('div', { class: 'stack' },
      meter(t('creds.meterAll'), usage.total_calls, usage.daily_limit_total),
      meter(t('creds.meterPro'), usage.pro_calls, usage.daily_limit_pro));

    const last = parseTime(item.last_success);
    const lastCell = last ? h('span', { title: last.toLocaleString() }, formatRelative(last.getTime())) : h('span', { class: 'muted' }, t('time.never'));

    const actions = h('div', { class: 'btn-group' },
      item.disabled ? actionButton('enable', name) : actionButton('disable', name),
      actionButton('clear_cooldown', name),
      actionButton('fetch_email', name),
      actionButton('download', name),
      actionButton('delete', name, 'btn-danger'));

    return h('tr', { dataset: { filename: name }, class: checked ? 'selected' : '' },
      h('td', { class: 'no-label' }, box),
      h('td', { 'data-label': t('th.file') }, h('div', null, account, key || email, project, location)),
      h('td', { 'data-label': t('th.kind') }, kindCell),
      h('td', { 'data-label': t('th.status') }, status),
      h('td', { 'data-label': t('th.errors') }, errors),
      h('td', { 'data-label': t('th.cooldowns') }, cooldowns),
      h('td', { 'data-label': t('th.today') }, usageCell),
      h('td', { 'data-label': t('th.lastSuccess') }, lastCell),
      h('td', { 'data-label': t('th.actions') }, actions));
  }

  function renderRows() {
    const body = $('#creds-body');
    if (!state.items.length) {
      const filtered = Object.values(filters()).some((v) => v !== 'all');
      replace(body, h('tr', null, h('td', { colspan: COLUMNS, class: 'empty' },
        filtered ? t('creds.noMatch') : t('creds.none'))));
    } else {
      // A credential's quota is a full-width row under its own, so the bars have room.
      replace(body, state.items.map((item) => {
        const row = renderRow(item);
        const quota = GC.quota.row(item, COLUMNS);
        if (quota) row.classList.add('has-quota');
        return [row, quota];
      }));
    }
    updateSelectionUi();
  }

  function renderPager() {
    const from = state.items.length ? state.offset + 1 : 0;
    const to = state.offset + state.items.length;
    $('#creds-page-info').textContent = t('creds.pageInfo', { from, to, total: state.total });
    $('#creds-prev').disabled = state.offset <= 0;
    $('#creds-next').disabled = !state.hasMore && to >= state.total;
  }

  function updateSelectionUi() {
    const count = state.selected.size;
    $('#creds-bulkbar').hidden = count === 0;
    $('#creds-selected-count').textContent = t('creds.selected', { n: count });
    const all = $('#creds-select-all');
    const pageCount = state.items.length;
    all.checked = pageCount > 0 && count === pageCount;
    all.indeterminate = count > 0 && count < pageCount;
  }

  function tickCooldowns() {
    if ($('#panel-creds').hidden) return;
    const now = Date.now();
    for (const node of document.querySelectorAll('#creds-body .cooldown-left')) {
      const left = (Number(node.dataset.until) - now) / 1000;
      node.textContent = left > 0 ? formatDuration(left) : t('creds.ended');
    }
    GC.quota.tick(now);
  }

  async function rowAction(button, action, filename) {
    const enc = encodeURIComponent(filename);
    if (action === 'download') {
      await withBusy(button, null, () => downloadWithAuth('/creds/download/' + enc, filename));
      return;
    }
    if (action === 'delete') {
      const ok = await confirmDialog(t('creds.confirmDelete', { file: filename }), t('common.delete'));
      if (!ok) return;
    }
    if (action === 'fetch_email') {
      const data = await withBusy(button, '\u2026', () => api.post('/creds/fetch-email/' + enc));
      if (data) {
        toast(data.user_email ? t('creds.emailIs', { email: data.user_email }) : (data.message || t('creds.noEmail')), data.user_email ? 'ok' : 'warn');
        load();
      }
      return;
    }
    if (action === 'clear_model') {
      const model = button.dataset.model;
      const cleared = await withBusy(button, '\u2026', () => api.post('/creds/action', { filename, action: 'clear_cooldown', model }));
      if (cleared) {
        toast(t('creds.modelCleared', { model, file: filename }), 'ok');
        load();
      }
      return;
    }
    const data = await withBusy(button, '\u2026', () => api.post('/creds/action', { filename, action }));
    if (data) {
      toast(data.message || t('creds.actionDone', { action: ACTION_LABELS[action] }), 'ok');
      if (action === 'delete') state.selected.delete(filename);
      load();
    }
  }

  async function batchAction(button, action) {
    const filenames = Array.from(state.selected);
    if (!filenames.length) return;
    if (action === 'delete') {
      const ok = await confirmDialog(t('creds.confirmDeleteMany', { n: filenames.length }), t('common.delete'));
      if (!ok) return;
    }
    const data = await withBusy(button, '\u2026', () => api.post('/creds/batch-action', { action, filenames }));
    if (!data) return;
    const errors = Array.isArray(data.errors) ? data.errors : [];
    const summary = (data.message ? data.message + ' ' : '') + t('creds.batchSummary', { ok: data.success_count || 0, total: data.total_count || filenames.length });
    toast(errors.length ? summary + ' ' + t('creds.errors') + ' ' + errors.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).join('; ') : summary,
      errors.length ? 'warn' : 'ok');
    if (action === 'delete') state.selected.clear();
    load();
  }

  function kindLabel(kind) {
    if (kind === 'gemini_api_key') return t('credKind.geminiApiKey');
    if (kind === 'vertex') return t('credKind.vertex');
    return t('credKind.codeAssist');
  }

  // ---------- API keys and Vertex service accounts ----------

  function renderAdded(list, rows) {
    replace(list, rows.map((r) => h('li', { dataset: { filename: String(r.filename || '') } },
      h('span', { class: 'badge ' + (r.ok ? 'ok' : 'danger') }, r.ok ? t('upload.ok') : t('upload.error')),
      h('span', null, h('code', null, String(r.filename || '?')), r.detail ? ' \u2014 ' + r.detail : ''))));
  }

  async function addKeys(event) {
    const text = $('#keys-input').value;
    if (!text.trim()) {
      toast(t('apiKeys.empty'), 'warn');
      return;
    }
    const body = { keys: text, kind: $('#keys-kind').value };
    const data = await withBusy(event.currentTarget, t('common.saving'), () => api.post('/creds/api-keys', body));
    if (!data) return;
    $('#keys-input').value = '';
    renderAdded($('#keys-results'), (data.added || []).map((a) => ({ ok: true, filename: a.filename, detail: a.api_key })));
    toast(t('apiKeys.added', { n: data.count || 0 }), 'ok');
    load();
  }

  async function addVertex(event) {
    const file = ($('#vertex-input').files || [])[0];
    if (!file) {
      toast(t('vertex.chooseFirst'), 'warn');
      return;
    }
    const text = await file.text();
    const body = { service_account: text, location: $('#vertex-location').value.trim() || undefined };
    const data = await withBusy(event.currentTarget, t('common.saving'), () => api.post('/creds/vertex', body));
    if (!data) return;
    $('#vertex-input').value = '';
    renderAdded($('#vertex-results'), [{ ok: true, filename: data.filename, detail: data.client_email }]);
    toast(t('vertex.added'), 'ok');
    load();
  }

  // ---------- upload ----------

  function renderUploadResults(results) {
    const list = $('#upload-results');
    replace(list, (results || []).map((r) => h('li', { dataset: { filename: String(r.filename || '') } },
      h('span', { class: 'badge ' + (r.status === 'success' ? 'ok' : 'danger') }, r.status === 'success' ? t('upload.ok') : t('upload.error')),
      h('span', null, h('code', null, String(r.filename || '?')), r.message ? ' \u2014 ' + r.message : ''))));
  }

  async function upload() {
    const input = $('#upload-input');
    const button = $('#upload-submit');
    const files = Array.from(input.files || []);
    const accepted = files.filter((f) => /\.(json|zip)$/i.test(f.name));
    const rejected = files.filter((f) => !/\.(json|zip)$/i.test(f.name));
    if (!files.length) {
      toast(t('upload.chooseFirst'), 'warn');
      return;
    }
    const local = rejected.map((f) => ({ filename: f.name, status: 'error', message: t('upload.onlyJsonZip') }));
    if (!accepted.length) {
      renderUploadResults(local);
      return;
    }
    const form = new FormData();
    for (const file of accepted) form.append('files', file, file.name);
    const bar = $('#upload-progress');
    const summary = $('#upload-summary');
    bar.value = 0;
    $('#upload-progress-wrap').hidden = false;
    replace($('#upload-results'));
    summary.textContent = t('upload.uploadingN', { n: accepted.length });
    GC.setBusy(button, true, t('upload.uploading'));
    try {
      const data = await uploadWithProgress('/auth/upload', form, (loaded, total) => {
        bar.value = Math.round((loaded / total) * 100);
      });
      bar.value = 100;
      renderUploadResults(local.concat((data && data.results) || []));
      summary.textContent = (data && data.message) || t('upload.stored', { n: data && data.uploaded_count, total: data && data.total_count });
      toast(summary.textContent, 'ok');
      input.value = '';
      load();
    } catch (e) {
      if (e.status === 401) return;
      const results = e.body && Array.isArray(e.body.results) ? e.body.results : [];
      renderUploadResults(local.concat(results));
      summary.textContent = t('upload.failed', { error: e.message });
      reportError(e, t('upload.title'));
    } finally {
      GC.setBusy(button, false);
      setTimeout(() => {
        $('#upload-progress-wrap').hidden = true;
      }, 1200);
    }
  }

  // ---------- environment credentials ----------

  function renderEnv(title, data) {
    const out = $('#env-output');
    const d = data && typeof data === 'object' ? data : {};
    const parts = [h('p', null, h('strong', null, title), d.message ? ' \u2014 ' + d.message : '')];
    if (d.available_env_vars && typeof d.available_env_vars === 'object') {
      const names = Object.keys(d.available_env_vars);
      parts.push(h('p', null, t('env.varsSet') + ' ', names.length ? names.map((n, i) => [i ? ', ' : '', h('code', null, n)]) : t('common.none')));
    }
    if ('auto_load_enabled' in d) parts.push(h('p', null, t('env.autoLoad') + ' ', d.auto_load_enabled ? t('common.yes') : t('common.no')));
    if (Array.isArray(d.existing_env_files)) {
      parts.push(h('p', null, t('env.imported', { n: d.existing_env_files_count != null ? d.existing_env_files_count : d.existing_env_files.length }) + ' ',
        d.existing_env_files.length ? d.existing_env_files.map((n, i) => [i ? ', ' : '', h('code', { class: 'wrap-any' }, String(n))]) : t('common.none')));
    }
    const rest = Object.assign({}, d);
    for (const key of ['message', 'available_env_vars', 'auto_load_enabled', 'existing_env_files', 'existing_env_files_count']) delete rest[key];
    if (Object.keys(rest).length) {
      parts.push(h('details', null, h('summary', { class: 'small' }, t('common.details')), h('div', { class: 'detail-body' }, JSON.stringify(rest, null, 2))));
    }
    replace(out, h('div', { class: 'notice' }, parts));
  }

  function mount() {
    for (const id of ['#creds-status-filter', '#creds-error-filter', '#creds-cooldown-filter', '#creds-kind-filter']) {
      $(id).addEventListener('change', () => {
        state.offset = 0;
        load();
      });
    }
    $('#creds-page-size').addEventListener('change', (event) => {
      state.limit = Number(event.target.value) || 50;
      state.offset = 0;
      load();
    });
    $('#creds-refresh').addEventListener('click', () => load());
    GC.quota.mount({ find: (name) => state.items.find((item) => item.filename === name), reload: load });
    $('#creds-prev').addEventListener('click', () => {
      state.offset = Math.max(0, state.offset - state.limit);
      load();
    });
    $('#creds-next').addEventListener('click', () => {
      state.offset += state.limit;
      load();
    });

    $('#creds-select-all').addEventListener('change', (event) => {
      if (event.target.checked) for (const item of state.items) state.selected.add(item.filename);
      else state.selected.clear();
      for (const row of document.querySelectorAll('#creds-body tr[data-filename]')) {
        const on = state.selected.has(row.dataset.filename);
        row.classList.toggle('selected', on);
        const box = row.querySelector('.row-select');
        if (box) box.checked = on;
      }
      updateSelectionUi();
    });

    const body = $('#creds-body');
    body.addEventListener('change', (event) => {
      const box = event.target.closest('.row-select');
      if (!box) return;
      const row = box.closest('tr[data-filename]');
      if (box.checked) state.selected.add(row.dataset.filename);
      else state.selected.delete(row.dataset.filename);
      row.classList.toggle('selected', box.checked);
      updateSelectionUi();
    });
    body.addEventListener('click', (event) => {
      const button = event.target.closest('button[data-action]');
      if (!button) return;
      const row = button.closest('tr[data-filename]');
      if (row) rowAction(button, button.dataset.action, row.dataset.filename);
    });

    for (const button of document.querySelectorAll('#creds-bulkbar [data-batch]')) {
      button.addEventListener('click', () => batchAction(button, button.dataset.batch));
    }

    $('#creds-download-all').addEventListener('click', (event) =>
      withBusy(event.currentTarget, t('common.preparing'), () => downloadWithAuth('/creds/download-all', 'credentials.zip')));

    $('#creds-refresh-emails').addEventListener('click', async (event) => {
      const data = await withBusy(event.currentTarget, t('common.refreshing'), () => api.post('/creds/refresh-all-emails'));
      if (data) {
        toast((data.message || t('creds.emailsRefreshed')) + ' ' + t('creds.emailsSummary', { found: data.success_count || 0, skipped: data.skipped_count || 0 }), 'ok');
        load();
      }
    });

    $('#upload-submit').addEventListener('click', upload);
    $('#keys-submit').addEventListener('click', addKeys);
    $('#vertex-submit').addEventListener('click', addVertex);

    $('#env-load').addEventListener('click', async (event) => {
      const data = await withBusy(event.currentTarget, t('common.loading'), () => api.post('/auth/load-env-creds'));
      if (data) {
        renderEnv(t('env.loaded'), data);
        load();
      }
    });
    $('#env-status').addEventListener('click', async (event) => {
      const data = await withBusy(event.currentTarget, '\u2026', () => api.get('/auth/env-creds-status'));
      if (data) renderEnv(t('env.status'), data);
    });
    $('#env-delete').addEventListener('click', async (event) => {
      const button = event.currentTarget;
      const ok = await confirmDialog(t('env.confirmDelete'), t('common.delete'));
      if (!ok) return;
      const data = await withBusy(button, t('common.deleting'), () => api.del('/auth/env-creds'));
      if (data) {
        renderEnv(t('env.deleted'), data);
        load();
      }
    });
  }

  GC.panels.creds = {
    mount,
    enter() {
      state.stale = true;
      state.selected.clear();
      if (!ticker) ticker = setInterval(tickCooldowns, 1000);
    },
    show() {
      if (state.stale) load();
    },
    leave() {
      clearInterval(ticker);
      ticker = 0;
      state.items = [];
      state.selected.clear();
    },
    invalidate() {
      state.stale = true;
      if (!$('#panel-creds').hidden) load();
    },
    reload: load,
  };
})();
