/* Config tab: one field per key of /config/get, typed from the current value. Only changed keys are
   sent; env-locked keys are read-only; the answer says which keys applied at once and which need a restart. */
(function () {
  'use strict';
  const { $, h, replace, api, toast, reportError, withBusy, t } = GC;

  const SECRET_PLACEHOLDER = '********';

  let fields = []; // [{key, kind, input, original}]
  let stale = true;

  function kindOf(value) {
    if (typeof value === 'boolean') return 'bool';
    if (typeof value === 'number') return 'number';
    if (Array.isArray(value)) return 'list';
    if (value !== null && typeof value === 'object') return 'json';
    if (value === null) return 'nullable';
    return 'text';
  }

  function isSecret(key, value) {
    return value === SECRET_PLACEHOLDER || /password|secret|token/i.test(key);
  }

  function buildInput(key, value, kind, locked) {
    const common = { id: 'cfg-' + key, name: key, dataset: { configKey: key }, disabled: locked, 'aria-describedby': 'cfg-' + key + '-hint' };
    if (kind === 'bool') return h('input', Object.assign({ type: 'checkbox', checked: Boolean(value) }, common));
    if (kind === 'number') {
      return h('input', Object.assign({ type: 'number', step: Number.isInteger(value) ? '1' : 'any', value: String(value), inputmode: 'decimal' }, common));
    }
    if (kind === 'list') {
      return h('input', Object.assign({ type: 'text', value: value.map(String).join(', '), spellcheck: 'false', autocomplete: 'off' }, common));
    }
    if (kind === 'json') return h('textarea', Object.assign({ rows: 4, spellcheck: 'false', value: JSON.stringify(value, null, 2) }, common));
    const text = value == null ? '' : String(value);
    return h('input', Object.assign({
      type: isSecret(key, value) ? 'password' : 'text', value: text, spellcheck: 'false',
      autocomplete: isSecret(key, value) ? 'new-password' : 'off',
    }, common));
  }

  /** Reads a field back to a JSON value; throws an Error with a readable message when it does not parse. */
  function readField(field) {
    const { input, kind, key } = field;
    switch (kind) {
      case 'bool':
        return input.checked;
      case 'number': {
        const raw = input.value.trim();
        const n = Number(raw);
        if (raw === '' || !isFinite(n)) throw new Error(t('cfg.needsNumber', { key }));
        return n;
      }
      case 'list':
        return input.value.split(',').map((s) => s.trim()).filter(Boolean)
          .map((s) => (/^-?\d+(\.\d+)?$/.test(s) ? Number(s) : s));
      case 'json':
        try {
          return JSON.parse(input.value);
        } catch (_) {
          throw new Error(t('cfg.needsJson', { key }));
        }
      case 'nullable':
        return input.value.trim() === '' ? null : input.value;
      default:
        return input.value;
    }
  }

  function changedValue(field) {
    const value = readField(field);
    return JSON.stringify(value) === JSON.stringify(field.original) ? undefined : value;
  }

  function markChanged(field) {
    let changed;
    try {
      changed = changedValue(field) !== undefined;
    } catch (_) {
      changed = true;
    }
    field.item.classList.toggle('changed', changed);
  }

  function render(data) {
    const config = (data && data.config) || {};
    const locked = new Set((data && data.env_locked) || []);
    const hot = new Set((data && data.hot_keys) || []);
    const restart = new Set((data && data.restart_keys) || []);
    fields = [];
    const items = Object.keys(config).map((key) => {
      const value = config[key];
      const kind = kindOf(value);
      const isLocked = locked.has(key);
      const input = buildInput(key, value, kind, isLocked);
      const badges = h('div', { class: 'badges' },
        hot.has(key) ? h('span', { class: 'badge info' }, t('cfg.badgeHot')) : null,
        restart.has(key) ? h('span', { class: 'badge warn' }, t('cfg.badgeRestart')) : null,
        isLocked ? h('span', { class: 'badge' }, t('cfg.badgeEnv')) : null);
      const hintParts = [];
      if (isLocked) hintParts.push(t('cfg.hintLocked'));
      if (restart.has(key)) hintParts.push(t('cfg.hintRestart'));
      if (kind === 'list') hintParts.push(t('cfg.hintList'));
      if (isSecret(key, value) && value === SECRET_PLACEHOLDER) hintParts.push(t('cfg.hintSecret'));
      const hint = h('span', { class: 'hint', id: 'cfg-' + key + '-hint' }, hintParts.join(' '));
      const label = kind === 'bool'
        ? h('label', { class: 'check', for: 'cfg-' + key }, input, h('code', null, key))
        : h('label', { for: 'cfg-' + key }, h('code', null, key));
      const item = h('div', { class: 'config-item', dataset: { key } },
        h('div', { class: 'field' }, h('div', { class: 'config-head' }, label, badges), kind === 'bool' ? null : input, hint));
      const field = { key, kind, input, item, original: value, locked: isLocked };
      if (!isLocked) {
        input.addEventListener('input', () => markChanged(field));
        input.addEventListener('change', () => markChanged(field));
      }
      fields.push(field);
      return item;
    });
    replace($('#config-fields'), items.length ? items : h('p', { class: 'muted' }, t('cfg.none')));
  }

  async function load() {
    try {
      const data = await api.get('/config/get');
      stale = false;
      render(data);
    } catch (e) {
      if (e.status !== 401) {
        replace($('#config-fields'), h('p', { class: 'notice danger' }, t('cfg.loadFailed', { error: e.message })));
        reportError(e, t('tab.config'));
      }
    }
  }

  function list(items) {
    return items.map((k, i) => [i ? ', ' : '', h('code', null, String(k))]);
  }

  async function save(button) {
    const changes = {};
    for (const field of fields) {
      if (field.locked) continue;
      let value;
      try {
        value = changedValue(field);
      } catch (e) {
        toast(e.message, 'error');
        field.input.focus();
        return;
      }
      if (value !== undefined) changes[field.key] = value;
    }
    if (!Object.keys(changes).length) {
      toast(t('cfg.nothingChanged'), 'info');
      return;
    }
    const data = await withBusy(button, t('common.saving'), () => api.post('/config/save', { config: changes }));
    if (!data) return;
    const hot = data.hot_updated || [];
    const restart = data.restart_required || [];
    const skipped = data.env_locked_skipped || [];
    replace($('#config-result'), h('div', { class: 'notice ' + (restart.length ? 'warn' : 'ok'), id: 'config-save-result' },
      h('p', null, h('strong', null, data.message || t('cfg.saved'))),
      hot.length ? h('p', { id: 'config-hot-updated' }, t('cfg.appliedNow') + ' ', list(hot)) : null,
      restart.length ? h('p', { id: 'config-restart-required' }, t('cfg.restartFor') + ' ', list(restart)) : null,
      skipped.length ? h('p', null, t('cfg.skipped') + ' ', list(skipped)) : null));
    toast(data.message || t('cfg.savedToast'), 'ok');
    load();
  }

  GC.panels.config = {
    mount() {
      $('#config-save').addEventListener('click', (event) => save(event.currentTarget));
      $('#config-reload').addEventListener('click', () => {
        replace($('#config-result'));
        load();
      });
      $('#config-form').addEventListener('submit', (event) => {
        event.preventDefault();
        save($('#config-save'));
      });
    },
    enter() {
      stale = true;
    },
    show() {
      if (stale) load();
    },
    leave() {
      fields = [];
      replace($('#config-fields'));
      replace($('#config-result'));
    },
  };
})();
