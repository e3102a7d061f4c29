/* API-key admin page: create keys (shown once), list them with usage and per-model stats, delete,
   and maintain the model-cost table. Logged in with the panel password (same token as the panel). */
(function () {
  'use strict';
  const {
    $, h, replace, api, toast, reportError, confirmDialog, withBusy, copyWithToast, formatNumber, formatTime,
    parseTime, meter,
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

  function readCreateForm() {
    const quota = Number($('#key-quota').value);
    if (!Number.isInteger(quota) || quota <= 0) throw new Error('The quota must be a whole number above 0.');
    const body = { total_quota: quota };
    const description = $('#key-description').value.trim();
    if (description) body.description = description;
    const models = parseModels($('#key-models').value);
    if (models.length) body.allowed_models = models;
    const concurrency = $('#key-concurrency').value.trim();
    if (concurrency) {
      const n = Number(concurrency);
      if (!Number.isInteger(n) || n < 1) throw new Error('Max concurrent requests must be a whole number of 1 or more.');
      body.max_concurrent = n;
    }
    const expiry = $('#key-expiry').value;
    if (expiry) {
      const at = endOfLocalDay(expiry);
      if (at == null) throw new Error('The expiry date is not valid.');
      if (at * 1000 <= Date.now()) throw new Error('The expiry date is in the past.');
      body.expires_at = at;
    }
    return body;
  }

  async function createKey(event) {
    event.preventDefault();
    let body;
    try {
      body = readCreateForm();
    } catch (e) {
      toast(e.message, 'error');
      return;
    }
    const data = await withBusy($('#key-create'), 'Creating\u2026', () => api.post('/auth/keys', body));
    if (!data) return;
    $('#new-key').textContent = data.api_key || '';
    $('#new-key-box').hidden = false;
    $('#key-description').value = '';
    $('#key-models').value = '';
    $('#key-concurrency').value = '';
    $('#key-expiry').value = '';
    toast('API key created.', 'ok');
    loadKeys();
  }

  function limitsCell(key) {
    const parts = [];
    const models = Array.isArray(key.allowed_models) ? key.allowed_models : [];
    parts.push(h('div', { class: 'small wrap-any' }, 'Models: ',
      models.length ? models.map((m, i) => [i ? ', ' : '', h('code', null, String(m))]) : h('span', { class: 'muted' }, 'all')));
    parts.push(h('div', { class: 'small' }, 'Concurrent: ', key.max_concurrent ? String(key.max_concurrent) : h('span', { class: 'muted' }, 'unlimited')));
    const expiry = parseTime(key.expires_at);
    const expired = expiry && expiry.getTime() <= Date.now();
    parts.push(h('div', { class: 'small' }, 'Expires: ',
      expiry ? formatTime(expiry.getTime()) : h('span', { class: 'muted' }, 'never'),
      expired ? [' ', h('span', { class: 'badge danger' }, 'expired')] : null));
    return parts;
  }

  function statsCell(stats) {
    const entries = Object.entries(stats && typeof stats === 'object' ? stats : {}).sort((a, b) => Number(b[1]) - Number(a[1]));
    if (!entries.length) return h('span', { class: 'muted' }, '\u2014');
    return h('details', null, h('summary', { class: 'small' }, entries.length + ' model' + (entries.length === 1 ? '' : 's')),
      h('div', { class: 'detail-body' }, entries.map(([m, n]) => m + ': ' + formatNumber(n) + '\n')));
  }

  function renderKeys(data) {
    const keys = Array.isArray(data && data.keys) ? data.keys : [];
    $('#keys-count').textContent = String(data && data.total_keys != null ? data.total_keys : keys.length);
    const body = $('#keys-body');
    if (!keys.length) {
      replace(body, h('tr', null, h('td', { colspan: 7, class: 'empty' }, 'No API keys yet.')));
      return;
    }
    replace(body, keys.map((key) => {
      const id = String(key.api_key || '');
      const remaining = key.remaining_quota != null ? key.remaining_quota : (Number(key.total_quota) || 0) - (Number(key.used_quota) || 0);
      return h('tr', { dataset: { key: id } },
        h('td', { 'data-label': 'Key' }, h('code', { class: 'key-text' }, id)),
        h('td', { 'data-label': 'Description', class: 'cell-wrap' }, key.description ? String(key.description) : h('span', { class: 'muted' }, '\u2014')),
        h('td', { 'data-label': 'Usage' }, h('div', null, meter('Used', key.used_quota, key.total_quota),
          h('div', { class: 'small muted' }, formatNumber(remaining) + ' left'))),
        h('td', { 'data-label': 'Limits' }, h('div', null, limitsCell(key))),
        h('td', { 'data-label': 'Created' }, formatTime(key.created_at)),
        h('td', { 'data-label': 'Per model' }, statsCell(key.model_stats)),
        h('td', { 'data-label': 'Actions' }, h('div', { class: 'btn-group' }, h('button', {
          type: 'button', class: 'btn btn-sm btn-danger', dataset: { action: 'delete' }, 'aria-label': 'Delete key ' + id,
        }, 'Delete'))));
    }));
  }

  async function loadKeys() {
    try {
      renderKeys(await api.get('/auth/keys'));
    } catch (e) {
      if (e.status !== 401) {
        replace($('#keys-body'), h('tr', null, h('td', { colspan: 7, class: 'empty' }, 'Could not load keys: ' + e.message)));
        reportError(e, 'Keys');
      }
    }
  }

  async function deleteKey(button, id) {
    const ok = await confirmDialog('Delete the API key "' + id + '"? Clients using it stop working at once.', 'Delete');
    if (!ok) return;
    const data = await withBusy(button, '\u2026', () => api.del('/auth/keys/' + encodeURIComponent(id)));
    if (data) {
      toast(data.message || 'Key deleted.', 'ok');
      loadKeys();
    }
  }

  // ---------- model costs ----------

  function renderCosts(data) {
    $('#default-cost').textContent = data && data.default_cost != null ? formatNumber(data.default_cost) : '\u2014';
    const entries = Object.entries((data && data.model_costs) || {}).sort((a, b) => a[0].localeCompare(b[0]));
    const body = $('#costs-body');
    if (!entries.length) {
      replace(body, h('tr', null, h('td', { colspan: 3, class: 'empty' }, 'No model has its own cost; every call costs the default.')));
      return;
    }
    replace(body, entries.map(([model, cost]) => h('tr', { dataset: { model } },
      h('td', null, h('code', { class: 'wrap-any' }, model)),
      h('td', null, h('input', {
        type: 'number', min: '0', step: '1', value: String(cost), dataset: { field: 'cost' }, 'aria-label': 'Cost of ' + model,
      })),
      h('td', null, h('div', { class: 'btn-group' },
        h('button', { type: 'button', class: 'btn btn-sm', dataset: { action: 'save-cost' }, 'aria-label': 'Save cost of ' + model }, 'Save'),
        h('button', { type: 'button', class: 'btn btn-sm btn-danger', dataset: { action: 'delete-cost' }, 'aria-label': 'Remove cost of ' + model }, 'Remove'))))));
  }

  async function loadCosts() {
    try {
      renderCosts(await api.get('/auth/models/costs'));
    } catch (e) {
      if (e.status !== 401) {
        replace($('#costs-body'), h('tr', null, h('td', { colspan: 3, class: 'empty' }, 'Could not load model costs: ' + e.message)));
        reportError(e, 'Model costs');
      }
    }
  }

  function readCost(input) {
    const n = Number(input.value);
    if (input.value.trim() === '' || !Number.isInteger(n) || n < 0) throw new Error('A cost is a whole number of 0 or more.');
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
    toast(data.message || 'Cost of ' + model + ' set to ' + cost + '.', 'ok');
    loadCosts();
    return true;
  }

  async function deleteCost(button, model) {
    const ok = await confirmDialog('Remove the cost of "' + model + '"? Calls to it then cost the default.', 'Remove');
    if (!ok) return;
    const data = await withBusy(button, '\u2026', () => api.del('/auth/models/costs/' + encodeURIComponent(model)));
    if (data) {
      toast(data.message || 'Removed.', 'ok');
      loadCosts();
    }
  }

  // ---------- wiring ----------

  $('#key-form').addEventListener('submit', createKey);
  $('#new-key-copy').addEventListener('click', () => copyWithToast($('#new-key').textContent, 'Key'));
  $('#keys-refresh').addEventListener('click', () => loadKeys());
  $('#keys-body').addEventListener('click', (event) => {
    const button = event.target.closest('button[data-action="delete"]');
    const row = button && button.closest('tr[data-key]');
    if (row) deleteKey(button, row.dataset.key);
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
      toast('Enter a model name.', 'warn');
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
      $('#new-key-box').hidden = true;
      $('#new-key').textContent = '';
      replace($('#keys-body'));
      replace($('#costs-body'));
    },
  });
})();
