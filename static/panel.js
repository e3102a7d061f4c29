/* Panel shell: login gate, tab bar (kept in the URL hash), and the life cycle of the tab modules.
   Each module in GC.panels has show() (called whenever its tab opens) and optionally leave()
   (called on logout) and mount() (called once after the first login). */
(function () {
  'use strict';
  const { $, panels } = GC;

  const TABS = ['oauth', 'creds', 'config', 'usage', 'models', 'requests', 'audit', 'logs'];
  const DEFAULT_TAB = 'creds';
  let current = '';
  let mounted = false;

  function tabButtons() {
    return Array.from(document.querySelectorAll('.tabs [role="tab"][data-tab]'));
  }

  function activate(name, focus) {
    const tab = TABS.includes(name) ? name : DEFAULT_TAB;
    for (const button of tabButtons()) {
      const selected = button.dataset.tab === tab;
      button.setAttribute('aria-selected', selected ? 'true' : 'false');
      button.tabIndex = selected ? 0 : -1;
      if (selected && focus) button.focus();
    }
    for (const section of document.querySelectorAll('[data-panel]')) {
      section.hidden = section.dataset.panel !== tab;
    }
    current = tab;
    if (location.hash !== '#' + tab) history.replaceState(null, '', '#' + tab);
    const module = panels[tab];
    if (module && module.show) module.show();
  }

  function enter() {
    if (!mounted) {
      mounted = true;
      for (const name of TABS) {
        const module = panels[name];
        if (module && module.mount) module.mount();
      }
    }
    for (const name of TABS) {
      const module = panels[name];
      if (module && module.enter) module.enter();
    }
    activate(location.hash.slice(1) || current || DEFAULT_TAB);
  }

  function leave() {
    for (const name of TABS) {
      const module = panels[name];
      if (module && module.leave) module.leave();
    }
  }

  panels.oauth = {
    mount() {
      GC.mountOAuthFlow($('#panel-oauth-flow'), {
        auth: true,
        onSuccess() {
          GC.toast(GC.t('oauth.savedToast'), 'ok');
          if (panels.creds && panels.creds.invalidate) panels.creds.invalidate();
        },
      });
    },
  };

  for (const button of tabButtons()) {
    button.addEventListener('click', () => activate(button.dataset.tab));
    button.addEventListener('keydown', (event) => {
      const list = tabButtons();
      const index = list.indexOf(button);
      let next = -1;
      if (event.key === 'ArrowRight') next = (index + 1) % list.length;
      else if (event.key === 'ArrowLeft') next = (index - 1 + list.length) % list.length;
      else if (event.key === 'Home') next = 0;
      else if (event.key === 'End') next = list.length - 1;
      if (next >= 0) {
        event.preventDefault();
        activate(list[next].dataset.tab, true);
      }
    });
  }

  window.addEventListener('hashchange', () => {
    const name = location.hash.slice(1);
    if (name && name !== current && !$('#app-view').hidden) activate(name);
  });

  GC.initLoginGate({ onEnter: enter, onLeave: leave });
})();
