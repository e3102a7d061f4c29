/* API-key admin page: create keys (shown once), edit them (PATCH /auth/keys/{id}: quota, models,
   concurrency, expiry, limits per time window, rpm / tpm, allowed addresses), list them with usage and
   per-model stats, delete, and maintain the model-cost table. Logged in with the panel password (same
   token as the panel). */
(function () {
  'use strict';
  const {
    $, h, replace, api, apiRequest, toast, reportError, confirmDialog, withBusy, copyWithToast, formatNumber, formatTime,
    parseTime, meter, t,
  } = GC;

  // ---------- keys ----------

  function parseModels(text) {
    return text.split(',').map((s) => s.trim()).filter(Boolean);
  }

  function endOfLocalDay(value) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
    if (!m) return null;
    return Math.floor(new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), 23, 59, 59).getTime() / 1000);
  }

  const WINDOWS = ['1m', '1h', '1d', '7d', '30d', 'day', 'month'];
  const LIMIT_KINDS = ['requests', 'tokens', 'cost'];
  // Written out so every key the page uses is a literal (tests/e2e/i18n-tables.test.mjs finds them).
  const KIND_LABELS = {
    requests: () => t('keys.limit.requests'), tokens: () => t('keys.limit.tokens'), cost: () => t('keys.limit.cost'),
  };
  const WINDOW_LABELS = {
    '1m': () => t('win.1m'), '1h': () => t('win.1h'), '1d': () => t('win.1d'), '7d': () => t('win.7d'),
    '30d': () => t('win.30d'), day: () => t('win.day'), month: () => t('win.month'),
  };
  /** The id of the key being edited; null while the form creates a key. */
  let editing = null;
  /** The edited key's expiry as loaded (date shown, exact time), kept as is while the date is unchanged. */
  let loadedExpiry = null;
  /** The listed keys by id, for the editor. */
  const listed = new Map();

  /** A whole number from `raw` of at least `min`; null when empty. */
  function wholeOrNull(raw, min, message) {
    const text = String(raw == null ? '' : raw).trim();
    if (!text) return null;
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) throw new Error(message);
    return n;
  }

  function limitRow(limit) {
    const l = limit || {};
    const number = (kind) => h('input', {
      type: 'number', min: '0', step: '1', value: l[kind] == null ? '' : String(l[kind]), dataset: { field: kind },
      'aria-label': KIND_LABELS[kind](),
    });
    const select = h('select', { dataset: { field: 'window' }, 'aria-label': t('keys.window') },
      WINDOWS.map((w) => h('option', { value: w }, w + ' \u00b7 ' + WINDOW_LABELS[w]())));
    select.value = WINDOWS.includes(l.window) ? l.window : '1m';
    return h('tr', { class: 'limit-row' },
      h('td', { 'data-label': t('keys.window') }, select),
      LIMIT_KINDS.map((kind) => h('td', { 'data-label': KIND_LABELS[kind]() }, number(kind))),
      h('td', { 'data-label': t('th.model') }, h('input', {
        type: 'text', value: l.model == null ? '' : String(l.model), dataset: { field: 'model' }, list: 'model-suggestions',
        autocomplete: 'off', spellcheck: 'false', placeholder: t('keys.allModels'), 'aria-label': t('th.model'),
      })),
      h('td', { 'data-label': t('th.actions') }, h('button', {
        type: 'button', class: 'btn btn-sm btn-danger', dataset: { action: 'remove-limit' },
      }, t('common.remove'))));
  }

  function readLimits() {
    const limits = [];
    for (const row of document.querySelectorAll('#key-limits-body tr.limit-row')) {
      const field = (name) => row.querySelector('[data-field="' + name + '"]');
      const limit = { window: field('window').value };
      for (const kind of LIMIT_KINDS) {
        const n = wholeOrNull(field(kind).value, 0, t('keys.limitWhole'));
        if (n != null) limit[kind] = n;
      }
      if (!LIMIT_KINDS.some((kind) => limit[kind] != null)) throw new Error(t('keys.limitEmpty', { window: limit.window }));
      const model = field('model').value.trim();
      if (model) limit.model = model;
      limits.push(limit);
    }
    return limits;
  }

  function readIps() {
    return $('#key-ips').value.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
  }

  /** The form as a key's fields. Creating leaves out what is empty; editing sends every field,
      an empty one as null (or []) to clear it. */
  function readKeyForm() {
    const quota = Number($('#key-quota').value);
    if (!Number.isInteger(quota) || quota <= 0) throw new Error(t('keys.quotaWhole'));
    const body = { total_quota: quota };
    const description = $('#key-description').value.trim();
    const models = parseModels($('#key-models').value);
    const concurrency = wholeOrNull($('#key-concurrency').value, 1, t('keys.concurrencyWhole'));
    let expiresAt = null;
    const expiry = $('#key-expiry').value;
    if (editing != null && loadedExpiry && expiry === loadedExpiry.date) {
      expiresAt = loadedExpiry.at;
    } else if (expiry) {
      expiresAt = endOfLocalDay(expiry);
      if (expiresAt == null) throw new Error(t('keys.expiryInvalid'));
      if (expiresAt * 1000 <= Date.now()) throw new Error(t('keys.expiryPast'));
    }
    const rpm = wholeOrNull($('#key-rpm').value, 1, t('keys.perMinuteWhole'));
    const tpm = wholeOrNull($('#key-tpm').value, 1, t('keys.perMinuteWhole'));
    const ips = readIps();
    const limits = readLimits();
    if (editing != null) {
      return Object.assign(body, {
        description, allowed_models: models, max_concurrent: concurrency, expires_at: expiresAt,
        limits, rpm, tpm, allowed_ips: ips,
      });
    }
    if (description) body.description = description;
    if (models.length) body.allowed_models = models;
    if (concurrency != null) body.max_concurrent = concurrency;
    if (expiresAt != null) body.expires_at = expiresAt;
    if (limits.length) body.limits = limits;
    if (rpm != null) body.rpm = rpm;
    if (tpm != null) body.tpm = tpm;
    if (ips.length) body.allowed_ips = ips;
    return body;
  }

  function localDate(value) {
    const d = parseTime(value);
    if (!d) return '';
    const pad = (n) => String(n).padStart(2, '0');
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate());
  }

  /** Text from the table under `key`, kept when the language is switched. */
  function setText(el, key, text) {
    el.dataset.i18n = key;
    el.textContent = text;
  }

  function clearForm() {
    $('#key-quota').value = '1000';
    for (const id of ['#key-description', '#key-models', '#key-concurrency', '#key-expiry', '#key-rpm', '#key-tpm', '#key-ips']) $(id).value = '';
    replace($('#key-limits-body'));
  }

  function fillForm(key) {
    $('#key-quota').value = String(key.total_quota != null ? key.total_quota : '');
    $('#key-description').value = key.description ? String(key.description) : '';
    $('#key-models').value = (Array.isArray(key.allowed_models) ? key.allowed_models : []).join(', ');
    $('#key-concurrency').value = key.max_concurrent ? String(key.max_concurrent) : '';
    $('#key-expiry').value = localDate(key.expires_at);
    loadedExpiry = key.expires_at != null ? { date: $('#key-expiry').value, at: key.expires_at } : null;
    $('#key-rpm').value = key.rpm != null ? String(key.rpm) : '';
    $('#key-tpm').value = key.tpm != null ? String(key.tpm) : '';
    $('#key-ips').value = (Array.isArray(key.allowed_ips) ? key.allowed_ips : []).join('\n');
    replace($('#key-limits-body'), (Array.isArray(key.limits) ? key.limits : []).map(limitRow));
  }

  function stopEditing() {
    editing = null;
    loadedExpiry = null;
    clearForm();
    setText($('#create-title'), 'keys.createTitle', t('keys.createTitle'));
    setText($('#key-create'), 'keys.create', t('keys.create'));
    $('#key-edit-cancel').hidden = true;
  }

  async function startEditing(id) {
    let key = listed.get(id) || {};
    try {
      key = Object.assign({}, key, await api.get('/auth/keys/' + encodeURIComponent(id)));
    } catch (e) {
      if (e.status === 401) return;
    }
    editing = id;
    fillForm(key);
    $('#key-advanced').open = true;
    $('#new-key-box').hidden = true;
    replace($('#create-title'), t('keys.editTitle') + ' ', h('code', { class: 'key-text' }, id));
    $('#create-title').removeAttribute('data-i18n');
    setText($('#key-create'), 'keys.saveChanges', t('keys.saveChanges'));
    $('#key-edit-cancel').hidden = false;
    $('#create-title').scrollIntoView({ block: 'start' });
    $('#key-quota').focus();
  }

  async function submitKey(event) {
    event.preventDefault();
    let body;
    try {
      body = readKeyForm();
    } catch (e) {
      toast(e.message, 'error');
      return;
    }
    if (editing != null) {
      const id = editing;
      const data = await withBusy($('#key-create'), t('keys.saving'),
        () => apiRequest('PATCH', '/auth/keys/' + encodeURIComponent(id), { body }));
      if (!data) return;
      toast(t('keys.updated'), 'ok');
      stopEditing();
      loadKeys();
      return;
    }
    const data = await withBusy($('#key-create'), t('keys.creating'), () => api.post('/auth/keys', body));
    if (!data) return;
    $('#new-key').textContent = data.api_key || '';
    $('#new-key-box').hidden = false;
    clearForm();
    toast(t('keys.created'), 'ok');
    loadKeys();
  }

  function limitsCell(key) {
    const parts = [];
    const models = Array.isArray(key.allowed_models) ? key.allowed_models : [];
    parts.push(h('div', { class: 'small wrap-any' }, t('keys.models') + ' ',
      models.length ? models.map((m, i) => [i ? ', ' : '', h('code', null, String(m))]) : h('span', { class: 'muted' }, t('keys.allModels'))));
    parts.push(h('div', { class: 'small' }, t('keys.concurrent') + ' ', key.max_concurrent ? String(key.max_concurrent) : h('span', { class: 'muted' }, t('keys.unlimited'))));
    const expiry = parseTime(key.expires_at);
    const expired = expiry && expiry.getTime() <= Date.now();
    parts.push(h('div', { class: 'small' }, t('keys.expires') + ' ',
      expiry ? formatTime(expiry.getTime()) : h('span', { class: 'muted' }, t('time.never')),
      expired ? [' ', h('span', { class: 'badge danger' }, t('keys.expired'))] : null));
    if (key.rpm != null) parts.push(h('div', { class: 'small' }, t('keys.rpm') + ' ' + formatNumber(key.rpm)));
    if (key.tpm != null) parts.push(h('div', { class: 'small' }, t('keys.tpm') + ' ' + formatNumber(key.tpm)));
    for (const l of Array.isArray(key.limits) ? key.limits : []) {
      const figures = LIMIT_KINDS.filter((kind) => l[kind] != null)
        .map((kind) => formatNumber(l[kind]) + ' ' + KIND_LABELS[kind]().toLowerCase());
      parts.push(h('div', { class: 'small limit-summary' }, h('code', null, String(l.window)), ' ' + figures.join(', '),
        l.model ? [' \u00b7 ', h('code', null, String(l.model))] : null));
    }
    const ips = Array.isArray(key.allowed_ips) ? key.allowed_ips : [];
    if (ips.length) parts.push(h('div', { class: 'small wrap-any' }, t('keys.allowedIps') + ' ', ips.map((ip, i) => [i ? ', ' : '', h('code', null, String(ip))])));
    return parts;
  }

  function statsCell(stats) {
    const entries = Object.entries(stats && typeof stats === 'object' ? stats : {}).sort((a, b) => Number(b[1]) - Number(a[1]));
    if (!entries.length) return h('span', { class: 'muted' }, '\u2014');
    return h('details', null, h('summary', { class: 'small' }, t('keys.nModels', { n: entries.length })),
      h('div', { class: 'detail-body' }, entries.map(([m, n]) => m + ': ' + formatNumber(n) + '\n')));
  }

  function renderKeys(data) {
    const keys = Array.isArray(data && data.keys) ? data.keys : [];
    listed.clear();
    for (const key of keys) listed.set(String(key.id || key.api_key || ''), key);
    $('#keys-count').textContent = String(data && data.total_keys != null ? data.total_keys : keys.length);
    const body = $('#keys-body');
    if (!keys.length) {
      replace(body, h('tr', null, h('td', { colspan: 7, class: 'empty' }, t('keys.none'))));
      return;
    }
    replace(body, keys.map((key) => {
      // The store keeps keys hashed: a key is named by its id and recognised by its prefix.
      const id = String(key.id || '');
      const remaining = key.remaining_quota != null ? key.remaining_quota : (Number(key.total_quota) || 0) - (Number(key.used_quota) || 0);
      return h('tr', { dataset: { key: id } },
        h('td', { 'data-label': t('th.key') }, h('code', { class: 'key-text' }, String(key.api_key || '')),
          h('div', { class: 'small muted' }, h('code', { class: 'key-text' }, id))),
        h('td', { 'data-label': t('th.description'), class: 'cell-wrap' }, key.description ? String(key.description) : h('span', { class: 'muted' }, '\u2014')),
        h('td', { 'data-label': t('th.usage') }, h('div', null, meter(t('keys.used'), key.used_quota, key.total_quota),
          h('div', { class: 'small muted' }, t('keys.left', { n: formatNumber(remaining) })))),
        h('td', { 'data-label': t('th.limits') }, h('div', null, limitsCell(key))),
        h('td', { 'data-label': t('th.created') }, formatTime(key.created_at)),
        h('td', { 'data-label': t('th.perModel') }, statsCell(key.model_stats)),
        h('td', { 'data-label': t('th.actions') }, h('div', { class: 'btn-group' }, h('button', {
          type: 'button', class: 'btn btn-sm', dataset: { action: 'edit' }, 'aria-label': t('keys.editKey', { key: id }),
        }, t('keys.edit')), h('button', {
          type: 'button', class: 'btn btn-sm btn-danger', dataset: { action: 'delete' }, 'aria-label': t('keys.deleteKey', { key: id }),
        }, t('common.delete')))));
    }));
  }

  async function loadKeys() {
    try {
      renderKeys(await api.get('/auth/keys'));
    } catch (e) {
      if (e.status !== 401) {
        replace($('#keys-body'), h('tr', null, h('td', { colspan: 7, class: 'empty' }, t('keys.loadFailed', { error: e.message }))));
        reportError(e, t('keys.title'));
      }
    }
  }

  async function deleteKey(button, id) {
    const ok = await confirmDialog(t('keys.confirmDelete', { key: id }), t('common.delete'));
    if (!ok) return;
    const data = await withBusy(button, '\u2026', () => api.del('/auth/keys/' + encodeURIComponent(id)));
    if (data) {
      toast(data.message || t('keys.deleted'), 'ok');
      loadKeys();
    }
  }

  // ---------- model costs ----------

  function renderCosts(data) {
    $('#default-cost').textContent = data && data.default_cost != null ? formatNumber(data.default_cost) : '\u2014';
    const entries = Object.entries((data && data.model_costs) || {}).sort((a, b) => a[0].localeCompare(b[0]));
    const body = $('#costs-body');
    if (!entries.length) {
      replace(body, h('tr', null, h('td', { colspan: 3, class: 'empty' }, t('costs.none'))));
      return;
    }
    replace(body, entries.map(([model, cost]) => h('tr', { dataset: { model } },
      h('td', null, h('code', { class: 'wrap-any' }, model)),
      h('td', null, h('input', {
        type: 'number', min: '0', step: '1', value: String(cost), dataset: { field: 'cost' }, 'aria-label': t('costs.costOf', { model }),
      })),
      h('td', null, h('div', { class: 'btn-group' },
        h('button', { type: 'button', class: 'btn btn-sm', dataset: { action: 'save-cost' }, 'aria-label': t('costs.saveOf', { model }) }, t('common.save')),
        h('button', { type: 'button', class: 'btn btn-sm btn-danger', dataset: { action: 'delete-cost' }, 'aria-label': t('costs.removeOf', { model }) }, t('common.remove')))))));
  }

  async function loadCosts() {
    try {
      renderCosts(await api.get('/auth/models/costs'));
    } catch (e) {
      if (e.status !== 401) {
        replace($('#costs-body'), h('tr', null, h('td', { colspan: 3, class: 'empty' }, t('costs.loadFailed', { error: e.message }))));
        reportError(e, t('costs.title'));
      }
    }
  }

  function readCost(input) {
    const n = Number(input.value);
    if (input.value.trim() === '' || !Number.isInteger(n) || n < 0) throw new Error(t('costs.whole'));
    return n;
  }

  async function saveCost(button, model, input) {
    let cost;
    try {
      cost = readCost(input);
    } catch (e) {
      toast(e.message, 'error');
      input.focus();
      return false;
    }
    const data = await withBusy(button, '\u2026', () => api.post('/auth/models/costs', { model_name: model, cost }));
    if (!data) return false;
    toast(data.message || t('costs.set', { model, cost }), 'ok');
    loadCosts();
    return true;
  }

  async function deleteCost(button, model) {
    const ok = await confirmDialog(t('costs.confirmRemove', { model }), t('common.remove'));
    if (!ok) return;
    const data = await withBusy(button, '\u2026', () => api.del('/auth/models/costs/' + encodeURIComponent(model)));
    if (data) {
      toast(data.message || t('costs.removed'), 'ok');
      loadCosts();
    }
  }

  // ---------- wiring ----------

  $('#key-form').addEventListener('submit', submitKey);
  $('#key-edit-cancel').addEventListener('click', stopEditing);
  $('#key-limit-add').addEventListener('click', () => {
    const row = limitRow(null);
    $('#key-limits-body').append(row);
    row.querySelector('select').focus();
  });
  $('#key-limits-body').addEventListener('click', (event) => {
    const button = event.target.closest('button[data-action="remove-limit"]');
    if (button) button.closest('tr').remove();
  });
  $('#new-key-copy').addEventListener('click', () => copyWithToast($('#new-key').textContent, t('th.key')));
  $('#keys-refresh').addEventListener('click', () => loadKeys());
  $('#keys-body').addEventListener('click', (event) => {
    const button = event.target.closest('button[data-action]');
    const row = button && button.closest('tr[data-key]');
    if (!row) return;
    if (button.dataset.action === 'edit') startEditing(row.dataset.key);
    else if (button.dataset.action === 'delete') deleteKey(button, row.dataset.key);
  });
  $('#costs-body').addEventListener('click', (event) => {
    const button = event.target.closest('button[data-action]');
    const row = button && button.closest('tr[data-model]');
    if (!row) return;
    if (button.dataset.action === 'save-cost') saveCost(button, row.dataset.model, row.querySelector('input[data-field="cost"]'));
    else if (button.dataset.action === 'delete-cost') deleteCost(button, row.dataset.model);
  });
  $('#cost-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const model = $('#cost-model').value.trim();
    if (!model) {
      toast(t('costs.enterModel'), 'warn');
      $('#cost-model').focus();
      return;
    }
    if (await saveCost($('#cost-add'), model, $('#cost-value'))) $('#cost-model').value = '';
  });

  GC.initLoginGate({
    onEnter() {
      loadKeys();
      loadCosts();
    },
    onLeave() {
      stopEditing();
      $('#new-key-box').hidden = true;
      $('#new-key').textContent = '';
      replace($('#keys-body'));
      replace($('#costs-body'));
    },
  });
})();
