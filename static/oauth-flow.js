/* The Google OAuth onboarding flow, shared by the public /auth page and the panel's OAuth tab:
   start → open Google's consent link → the gateway catches the code (or the user pastes the
   callback URL) → the credential is saved. GC.mountOAuthFlow(root, {auth, onSuccess}). */
(function () {
  'use strict';
  const { h, replace, api, toast, basename, setBusy, copyWithToast, t } = GC;

  const POLL_MS = 2500;
  const POLL_LIMIT_MS = 10 * 60 * 1000;

  function mountOAuthFlow(root, options) {
    const opts = options || {};
    const reqOpts = { auth: opts.auth !== false };

    const projectInput = h('input', {
      type: 'text', id: 'oauth-project-id', autocomplete: 'off', spellcheck: 'false',
      placeholder: t('oauth.projectPlaceholder'), 'aria-describedby': 'oauth-project-hint',
    });
    const allProjects = h('input', { type: 'checkbox', id: 'oauth-all-projects' });
    const startBtn = h('button', { type: 'button', id: 'oauth-start', class: 'btn btn-primary' }, t('oauth.start'));

    const link = h('a', { id: 'oauth-url', class: 'auth-link', target: '_blank', rel: 'noopener noreferrer' });
    const openBtn = h('a', { class: 'btn btn-primary', target: '_blank', rel: 'noopener noreferrer', id: 'oauth-open' }, t('oauth.open'));
    const copyBtn = h('button', { type: 'button', id: 'oauth-copy', class: 'btn' }, t('oauth.copyLink'));
    const waitLine = h('p', { id: 'oauth-wait', class: 'hint', 'aria-live': 'polite' });

    const callbackBtn = h('button', { type: 'button', id: 'oauth-callback', class: 'btn btn-primary', disabled: true }, t('oauth.authorised'));
    const urlInput = h('input', {
      type: 'url', id: 'oauth-callback-url', autocomplete: 'off', spellcheck: 'false', disabled: true,
      placeholder: 'http://localhost:11451/?state=\u2026&code=\u2026',
    });
    const urlBtn = h('button', { type: 'button', id: 'oauth-callback-url-submit', class: 'btn', disabled: true }, t('oauth.submitUrl'));
    const result = h('div', { id: 'oauth-result', 'aria-live': 'polite' });

    const stepAuthorise = h('li', { id: 'oauth-step-authorise', hidden: true },
      h('h3', null, t('oauth.stepAuthorise')),
      h('p', null, t('oauth.stepAuthoriseText')),
      link,
      h('div', { class: 'btn-group' }, openBtn, copyBtn),
      h('p', { class: 'hint' }, t('oauth.localhostHint')),
      waitLine);

    const stepFinish = h('li', { id: 'oauth-step-finish', hidden: true },
      h('h3', null, t('oauth.stepFinish')),
      h('div', { class: 'btn-group' }, callbackBtn),
      h('p', { class: 'hint' }, t('oauth.waitHint')),
      h('div', { class: 'field' },
        h('label', { for: 'oauth-callback-url' }, t('oauth.pasteUrl')),
        h('div', { class: 'row' }, h('div', { class: 'spacer' }, urlInput), urlBtn)));

    const stepStart = h('li', { id: 'oauth-step-start' },
      h('h3', null, t('oauth.stepStart')),
      h('div', { class: 'field' },
        h('label', { for: 'oauth-project-id' }, t('oauth.projectLabel')),
        projectInput,
        h('span', { id: 'oauth-project-hint', class: 'hint' }, t('oauth.projectHint'))),
      h('div', { class: 'field' },
        h('label', { class: 'check', for: 'oauth-all-projects' }, allProjects,
          t('oauth.allProjects'))),
      startBtn);

    replace(root, h('ol', { class: 'steps' }, stepStart, stepAuthorise, stepFinish), result);

    let state = '';
    let busy = false;
    let pollTimer = 0;
    let pollStarted = 0;
    let pollFailures = 0;

    function flowOptions() {
      const body = {};
      const project = projectInput.value.trim();
      if (project) body.project_id = project;
      if (allProjects.checked) body.get_all_projects = true;
      return body;
    }

    function setFinishEnabled(enabled) {
      callbackBtn.disabled = !enabled;
      urlInput.disabled = !enabled;
      urlBtn.disabled = !enabled;
    }

    function stopPolling() {
      clearTimeout(pollTimer);
      pollTimer = 0;
    }

    function showError(message) {
      replace(result, h('div', { class: 'notice danger', role: 'alert' }, h('strong', null, t('oauth.failed') + ' '), message));
    }

    function renderSuccess(data) {
      const multi = data && data.multiple_credentials;
      if (multi) {
        const ok = Array.isArray(multi.success) ? multi.success : [];
        const failed = Array.isArray(multi.failed) ? multi.failed : [];
        replace(result, h('div', { class: 'notice ' + (ok.length ? 'ok' : 'danger'), id: 'oauth-success' },
          h('p', null, h('strong', null, ok.length ? t('oauth.savedN', { n: ok.length }) : t('oauth.noneSaved'))),
          ok.length ? h('ul', { class: 'result-list' }, ok.map((item) => h('li', null,
            h('span', { class: 'badge ok' }, t('oauth.badgeSaved')),
            h('span', null, h('code', null, item.project_id || '?'), ' \u2192 ', h('code', null, basename(item.file_path)))))) : null,
          failed.length ? h('ul', { class: 'result-list' }, failed.map((item) => h('li', null,
            h('span', { class: 'badge danger' }, t('oauth.badgeFailed')),
            h('span', null, h('code', null, item.project_id || '?'), ': ', String(item.error || t('oauth.unknownError')))))) : null));
        return;
      }
      const file = basename(data && data.file_path);
      replace(result, h('div', { class: 'notice ok', id: 'oauth-success' },
        h('p', null, h('strong', null, t('oauth.saved')), data && data.message ? ' ' + data.message : ''),
        h('p', null, t('oauth.file') + ' ', h('code', { class: 'wrap-any', id: 'oauth-saved-file' }, file || '\u2014')),
        h('p', null, t('oauth.email') + ' ', h('span', { class: 'wrap-any', id: 'oauth-saved-email' }, (data && data.user_email) || t('oauth.unknown'))),
        data && data.project_id ? h('p', null, t('oauth.project') + ' ', h('code', { class: 'wrap-any' }, data.project_id),
          data.auto_detected_project ? ' ' + t('oauth.detected') : '') : null));
    }

    async function finish(button, path, extra) {
      if (busy) return;
      busy = true;
      stopPolling();
      setBusy(button, true, path === '/auth/callback' ? t('oauth.waitingCode') : t('oauth.submitting'));
      replace(result, h('p', { class: 'hint' }, t('oauth.exchanging')));
      try {
        const body = Object.assign(flowOptions(), extra);
        const data = await api.post(path, body, reqOpts);
        renderSuccess(data);
        stepAuthorise.classList.add('done');
        stepFinish.classList.add('done');
        setFinishEnabled(false);
        state = '';
        waitLine.textContent = '';
        if (opts.onSuccess) opts.onSuccess(data);
      } catch (e) {
        if (e.status === 401 && reqOpts.auth) return;
        showError(e.message);
        if (path === '/auth/callback' && state) schedulePoll();
      } finally {
        busy = false;
        setBusy(button, false);
        if (!state) setFinishEnabled(false);
      }
    }

    function schedulePoll() {
      stopPolling();
      if (!state || Date.now() - pollStarted > POLL_LIMIT_MS) return;
      pollTimer = setTimeout(poll, POLL_MS);
    }

    // The gateway's callback listener records that the code arrived (`code_received`); POST /auth/callback
    // then exchanges it, so finishing needs no extra click. `completed` means the flow was finished
    // elsewhere (another tab, a pasted URL); `not_found` that it expired or the gateway restarted.
    async function poll() {
      const current = state;
      if (!current || busy) return;
      try {
        const data = await api.get('/auth/status/' + encodeURIComponent(current), reqOpts);
        pollFailures = 0;
        // A finish started meanwhile claims the code itself; its own answer settles the flow.
        if (current !== state || busy) return;
        const status = data && data.status;
        if (status === 'code_received') {
          waitLine.textContent = t('oauth.googleAnswered');
          finish(callbackBtn, '/auth/callback', { state: current });
          return;
        }
        if (status === 'completed') {
          waitLine.textContent = t('oauth.completedElsewhere');
          stepAuthorise.classList.add('done');
          stepFinish.classList.add('done');
          setFinishEnabled(false);
          state = '';
          if (opts.onSuccess) opts.onSuccess({});
          return;
        }
        if (status === 'not_found') {
          waitLine.textContent = t('oauth.expired');
          setFinishEnabled(false);
          state = '';
          return;
        }
      } catch (e) {
        pollFailures += 1;
        if (pollFailures >= 3) {
          waitLine.textContent = t('oauth.notWatching');
          return;
        }
      }
      schedulePoll();
    }

    startBtn.addEventListener('click', async () => {
      if (busy) return;
      stopPolling();
      setBusy(startBtn, true, t('oauth.starting'));
      replace(result);
      stepAuthorise.classList.remove('done');
      stepFinish.classList.remove('done');
      try {
        const data = await api.post('/auth/start', flowOptions(), reqOpts);
        if (!data || !data.auth_url) throw new Error(t('oauth.noLink'));
        state = data.state || '';
        link.href = data.auth_url;
        link.textContent = data.auth_url;
        openBtn.href = data.auth_url;
        stepStart.classList.add('done');
        stepAuthorise.hidden = false;
        stepFinish.hidden = false;
        setFinishEnabled(true);
        urlInput.value = '';
        waitLine.textContent = data.auto_project_detection
          ? t('oauth.waitingAuto')
          : t('oauth.waiting');
        pollStarted = Date.now();
        pollFailures = 0;
        if (state) schedulePoll();
        link.focus();
      } catch (e) {
        if (!(e.status === 401 && reqOpts.auth)) showError(e.message);
      } finally {
        setBusy(startBtn, false);
        startBtn.textContent = state ? t('oauth.startAgain') : t('oauth.start');
      }
    });

    copyBtn.addEventListener('click', () => {
      if (link.href) copyWithToast(link.href, t('oauth.link'));
    });

    callbackBtn.addEventListener('click', () => finish(callbackBtn, '/auth/callback', state ? { state } : {}));

    urlBtn.addEventListener('click', () => {
      const value = urlInput.value.trim();
      if (!/^https?:\/\//i.test(value) || !/[?&]code=/.test(value)) {
        toast(t('oauth.pasteWhole'), 'warn');
        urlInput.focus();
        return;
      }
      finish(urlBtn, '/auth/callback-url', { callback_url: value });
    });

    urlInput.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') {
        event.preventDefault();
        urlBtn.click();
      }
    });

    return { stop: stopPolling };
  }

  GC.mountOAuthFlow = mountOAuthFlow;
})();
