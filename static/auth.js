/* Public onboarding page: the OAuth flow without panel login. */
(function () {
  'use strict';
  GC.mountOAuthFlow(document.getElementById('oauth-flow'), {
    auth: false,
    onSuccess() {
      GC.toast('Thank you! Your account was added to the gateway.', 'ok');
    },
  });
})();
