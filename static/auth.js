/* Public onboarding page: the OAuth flow without panel login. */
(function () {
  'use strict';
  GC.mountOAuthFlow(document.getElementById('oauth-flow'), {
    auth: false,
    onSuccess() {
      GC.toast(GC.t('auth.thanks'), 'ok');
    },
  });
})();
