/* Models tab: the live model catalogue (GET /models/catalogue) — each model, where it comes from,
   which credentials and kinds serve it, its limits, learned thinking levels, aliases, cost for keys,
   quota left and when it was first seen — and a Refresh that asks Google again (POST /models/refresh). */
(function () {
  'use strict';
  const { $, h, replace, api, reportError, formatNumber, formatTime, formatRelative, t } = GC;

  const COLUMNS = 9;
  let stale = true;

  function sourceLabel(source) {
    if (source === 'live') return t('models.sourceLive');
    if (source === 'base_models') return t('models.sourceBase');
    return t('models.sourceFallback');
  }

  const KINDS = { code_assist: 'credKind.codeAssist', gemini_api_key: 'credKind.geminiApiKey', vertex: 'credKind.vertex' };

  function kindLabel(kind) {
    return KINDS[kind] ? t(KINDS[kind]) : kind;
  }

  function dash() {
    return '\u2014';
  }

  function limits(m) {
    const input = m.input_token_limit != null ? formatNumber(m.input_token_limit) : dash();
    const output = m.output_token_limit != null ? formatNumber(m.output_token_limit) : dash();
    return h('span', { class: 'num-whole' }, input + ' / ' + output);
  }

  function credentials(m) {
    const names = Array.isArray(m.credentials) ? m.credentials : [];
    const more = m.credential_count - names.length;
    return h('div', { class: 'model-creds' },
      h('div', null, t('models.credCount', { n: formatNumber(m.credential_count) })),
      names.length ? h('div', { class: 'small' }, names.map((name, i) => [i ? ', ' : '', h('code', { class: 'model-cred' }, name)])) : null,
      more > 0 ? h('div', { class: 'small muted' }, t('models.credMore', { n: formatNumber(more) })) : null);
  }

  function thinking(m) {
    const parts = [];
    if (m.thinking === true) parts.push(h('span', { class: 'badge info' }, t('models.thinks')));
    else if (m.thinking === false) parts.push(h('span', { class: 'badge' }, t('models.noThinking')));
    const learned = m.thinking_level;
    if (learned) {
      for (const [from, to] of Object.entries(learned.substitutes || {})) {
        parts.push(h('div', { class: 'small' }, t('models.levelSubstitute', { from, to })));
      }
    }
    return parts;
  }

  function aliases(m) {
    const entries = Object.entries(m.aliases || {});
    return entries.map(([kind, target]) => h('div', { class: 'small' },
      kindLabel(kind) + ' \u2192 ', h('code', { class: 'wrap-any' }, target)));
  }

  function thinkingAndAliases(m) {
    const parts = thinking(m).concat(aliases(m));
    return parts.length ? parts : dash();
  }

  function quota(q) {
    if (!q || !q.known) return dash();
    const mean = q.mean_remaining_fraction != null ? Math.round(q.mean_remaining_fraction * 100) + '%' : dash();
    return h('div', null,
      h('div', null, t('models.quotaLeft', { with: formatNumber(q.with_quota), known: formatNumber(q.known), mean })),
      q.next_reset ? h('div', { class: 'small muted' }, t('models.quotaReset', { when: formatRelative(q.next_reset) })) : null);
  }

  function row(m) {
    return h('tr', { dataset: { id: m.id } },
      h('td', { 'data-label': t('models.colModel') }, h('code', { class: 'wrap-any' }, m.id)),
      h('td', { 'data-label': t('models.colSource') }, h('span', { class: 'badge' + (m.source === 'live' ? ' ok' : '') }, sourceLabel(m.source))),
      h('td', { 'data-label': t('models.colKinds') }, (m.kinds || []).length ? m.kinds.map((k) => h('div', null, kindLabel(k))) : dash()),
      h('td', { 'data-label': t('models.colCredentials') }, credentials(m)),
      h('td', { 'data-label': t('models.colLimits'), class: 'num' }, limits(m)),
      h('td', { 'data-label': t('models.colThinking') }, thinkingAndAliases(m)),
      h('td', { 'data-label': t('models.colCost'), class: 'num' }, formatNumber(m.cost)),
      h('td', { 'data-label': t('models.colQuota') }, quota(m.quota)),
      h('td', { 'data-label': t('models.colFirstSeen') }, formatTime(m.first_seen)));
  }

  function render(data) {
    stale = false;
    const list = Array.isArray(data && data.models) ? data.models : [];
    const seconds = data && data.refresh_seconds;
    $('#models-refresh-note').textContent = seconds
      ? t('models.refreshEvery', { s: formatNumber(seconds) })
      : t('models.refreshOff');
    replace($('#models-body'), list.length
      ? list.map(row)
      : h('tr', null, h('td', { colspan: COLUMNS, class: 'empty' }, t('models.none'))));
  }

  async function load() {
    try {
      render(await api.get('/models/catalogue'));
    } catch (e) {
      if (e.status !== 401) {
        replace($('#models-body'), h('tr', null, h('td', { colspan: COLUMNS, class: 'empty' }, t('models.loadFailed', { error: e.message }))));
        reportError(e, t('tab.models'));
      }
    }
  }

  async function refresh(button) {
    const data = await GC.withBusy(button, t('models.refreshing'), () => api.post('/models/refresh'));
    if (data && Array.isArray(data.models)) {
      render(data);
      GC.toast(t('models.refreshed'), 'ok');
    }
  }

  GC.panels.models = {
    mount() {
      $('#models-refresh').addEventListener('click', (event) => refresh(event.currentTarget));
      $('#models-reload').addEventListener('click', () => load());
    },
    enter() {
      stale = true;
    },
    show() {
      if (stale) load();
    },
    leave() {
      replace($('#models-body'));
    },
  };
})();
