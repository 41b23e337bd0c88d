/*
 * The test-mode 3-D Secure challenge, shown in a modal by Payrail.js. The customer's choice goes to
 * Payrail's test helper with the publishable key and the intent's client secret; then the page that
 * opened the modal is told it is done, and reads the intent's new state itself.
 */
(function () {
  'use strict';
  var frame = window.PayrailFrame;
  var settings = frame.settings;
  var complete = document.getElementById('complete');
  var fail = document.getElementById('fail');
  var status = document.getElementById('status');
  var helpers = { payment_intent: '/v1/test_helpers/payment_intents/', setup_intent: '/v1/test_helpers/setup_intents/' };

  function answer(outcome) {
    var path = frame.intentPath(settings.kind, settings.id);
    if (!path) {
      status.textContent = 'This authentication request is not valid.';
      return;
    }
    complete.disabled = true;
    fail.disabled = true;
    status.textContent = 'Sending your answer to your bank…';
    frame
      .api('POST', helpers[settings.kind] + settings.id + '/authenticate', { outcome: outcome, client_secret: settings.clientSecret })
      .catch(function () {
        return { error: { message: 'Payrail could not be reached.' } };
      })
      .then(function (result) {
        frame.emit('done', { outcome: outcome, error: result.error });
      });
  }

  complete.addEventListener('click', function () {
    answer('succeeded');
  });
  fail.addEventListener('click', function () {
    answer('failed');
  });
  document.addEventListener('keydown', function (event) {
    if (event.key === 'Escape') answer('failed');
  });
  complete.focus();
  frame.emit('ready');
})();
