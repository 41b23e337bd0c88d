/*
 * The hidden controller frame: retrieves and confirms intents for the page, with the publishable key
 * and the intent's client secret, as Stripe allows a publishable key to. Same-origin calls: the
 * merchant's page makes no request to Payrail itself.
 */
(function () {
  'use strict';
  var frame = window.PayrailFrame;

  function badIntent() {
    return Promise.resolve({ error: { type: 'invalid_request_error', message: 'Invalid client secret.' } });
  }

  frame.serve({
    retrieve: function (intent) {
      var path = frame.intentPath(intent.kind, intent.id);
      if (!path) return badIntent();
      return frame.api('GET', path + '?client_secret=' + encodeURIComponent(String(intent.clientSecret)));
    },
    confirm: function (request) {
      var path = frame.intentPath(request.kind, request.id);
      if (!path) return badIntent();
      return frame.api('POST', path + '/confirm', request.params || {});
    },
  });
})();
