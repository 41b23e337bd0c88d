/*
 * Payrail.js, part 3 of 4: 3-D Secure. An intent in `requires_action` is shown to the customer in a
 * modal frame from Payrail (three-d-secure.html), where they complete or fail the test-mode
 * challenge; the frame tells Payrail, then says it is done, and the modal closes.
 */

var OVERLAY_STYLE = 'position:fixed;inset:0;z-index:2147483647;background:rgba(0,0,0,0.5);display:flex;align-items:center;justify-content:center';
var MODAL_FRAME_STYLE = 'border:0;border-radius:8px;background:#fff;width:min(420px,94vw);height:min(360px,90vh)';

/** Resolves once the customer completed or failed the challenge (`{ outcome }`), or closed it. */
function showChallenge(stripe, intent) {
  return new Promise(function (resolve) {
    var overlay = document.createElement('div');
    overlay.style.cssText = OVERLAY_STYLE;
    overlay.setAttribute('role', 'dialog');
    overlay.setAttribute('aria-modal', 'true');
    overlay.setAttribute('aria-label', '3-D Secure authentication');
    overlay.setAttribute('data-payrail-3ds', '');
    var frame = document.createElement('iframe');
    frame.title = '3-D Secure authentication';
    frame.style.cssText = MODAL_FRAME_STYLE;
    frame.src = frameUrl('three-d-secure.html', { key: stripe._key, kind: intent.kind, id: intent.id, clientSecret: intent.clientSecret });
    overlay.appendChild(frame);
    var previousFocus = document.activeElement;
    var channel = new FrameChannel(frame);
    channel.on('done', function (payload) {
      channel.close();
      if (overlay.parentNode) overlay.parentNode.removeChild(overlay);
      if (previousFocus && previousFocus.focus) previousFocus.focus();
      resolve(payload || {});
    });
    document.body.appendChild(overlay);
    frame.focus();
  });
}

function authenticationFailure(intentObject, kind) {
  var lastError = kind === 'setup_intent' ? intentObject.last_setup_error : intentObject.last_payment_error;
  var error = Object.assign(
    {
      type: 'invalid_request_error',
      code: kind === 'setup_intent' ? 'setup_intent_authentication_failure' : 'payment_intent_authentication_failure',
      message: 'We are unable to authenticate your payment method. Please choose a different payment method and try again.',
    },
    lastError || {},
  );
  error[kind] = intentObject;
  return error;
}

/** `{ paymentIntent }` / `{ setupIntent }` for an intent that needs nothing more, `{ error }` when it failed. */
function intentResult(intentObject, kind) {
  var result = {};
  if (intentObject.status === 'requires_payment_method') return { error: authenticationFailure(intentObject, kind) };
  result[kind === 'setup_intent' ? 'setupIntent' : 'paymentIntent'] = intentObject;
  return result;
}

/** Shows 3-D Secure when the intent asks for it, then answers from the intent as Payrail has it afterwards. */
function settleNextAction(stripe, intent, answer, handleActions) {
  if (answer.error) return Promise.resolve({ error: answer.error });
  var object = answer.object;
  if (object.status !== 'requires_action' || handleActions === false) return Promise.resolve(intentResult(object, intent.kind));
  return showChallenge(stripe, intent)
    .then(function () {
      return stripe._call('retrieve', intent);
    })
    .then(function (after) {
      if (after.error) return { error: after.error };
      if (after.object.status === 'requires_action') return { error: authenticationFailure(after.object, intent.kind) };
      return intentResult(after.object, intent.kind);
    });
}
