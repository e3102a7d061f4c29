/* API-key admin page: create keys (shown once), list them with usage and per-model stats, delete,
   and maintain the model-cost table. Logged in with the panel password (same token as the panel). */
(function () {
  'use strict';
  const {
    $, h, replace, api, toast, reportError, confirmDialog, withBusy, copyWithToast, formatNumber, formatTime,
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

  function readCreateForm() {
    const quota = Number($('#key-quota').value);
    if (!Number.isInteger(quota) || quota <= 0) throw new Error(t('keys.quotaWhole'));
    const body = { total_quota: quota };
    const description = $('#key-description').value.trim();
    if (description) body.description = description;
    const models = parseModels($('#key-models').value);
    if (models.length) body.allowed_models = models;
    const concurrency = $('#key-concurrency').value.trim();
    if (concurrency) {
      const n = Number(concurrency);
      if (!Number.isInteger(n) || n < 1) throw new Error(t('keys.concurrencyWhole'));
      body.max_concurrent = n;
    }
    const expiry = $('#key-expiry').value;
    if (expiry) {
      const at = endOfLocalDay(expiry);
      if (at == null) throw new Error(t('keys.expiryInvalid'));
      if (at * 1000 <= Date.now()) throw new Error(t('keys.expiryPast'));
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
    const data = await withBusy($('#key-create'), t('keys.creating'), () => api.post('/auth/keys', body));
    if (!data) return;
    $('#new-key').textContent = data.api_key || '';
    $('#new-key-box').hidden = false;
    $('#key-description').value = '';
    $('#key-models').value = '';
    $('#key-concurrency').value = '';
    $('#key-expiry').value = '';
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

  $('#key-form').addEventListener('submit', createKey);
  $('#new-key-copy').addEventListener('click', () => copyWithToast($('#new-key').textContent, t('th.key')));
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
      $('#new-key-box').hidden = true;
      $('#new-key').textContent = '';
      replace($('#keys-body'));
      replace($('#costs-body'));
    },
  });
})();
