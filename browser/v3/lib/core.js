/*
 * Payrail.js, part 1 of 4: messaging with Payrail's frames. The parts under lib/ are joined in order
 * inside one function scope and served as /js/v3 (src/services/gateway/adapters/browser-library.ts).
 *
 * Card fields live in frames served from Payrail (card-frame.html): the card number and CVC never
 * enter the merchant page's DOM or memory; the frame creates the PaymentMethod and hands back only
 * the object Payrail answered (brand, last four). API calls go through a hidden controller frame on
 * Payrail's origin (controller.html), so the merchant page makes no cross-origin requests. Messages
 * are sent only to Payrail's origin and accepted only from it, and only from the frame expected.
 */

var currentScript = document.currentScript;
var PAYRAIL_ORIGIN = new URL(currentScript && currentScript.src ? currentScript.src : window.location.href).origin;
var FRAME_BASE = PAYRAIL_ORIGIN + '/js/v3/';
var sequence = 0;

function uid(prefix) {
  sequence += 1;
  return prefix + '_' + Date.now().toString(36) + '_' + sequence;
}

/** A frame on Payrail's origin, spoken to by request/answer messages matched by id, plus events it sends. */
function FrameChannel(frame) {
  this.frame = frame;
  this.pending = {};
  this.listeners = {};
  this.ready = new Promise((resolve) => {
    this.markReady = resolve;
  });
  this.onMessage = (event) => this.receive(event);
  window.addEventListener('message', this.onMessage);
}

FrameChannel.prototype.receive = function (event) {
  if (event.origin !== PAYRAIL_ORIGIN || event.source !== this.frame.contentWindow) return;
  var message = event.data;
  if (!message || typeof message !== 'object' || message.payrail !== 1) return;
  if (message.type === 'ready') this.markReady();
  if (message.type === 'answer') {
    var resolve = this.pending[message.id];
    delete this.pending[message.id];
    if (resolve) resolve(message.result);
    return;
  }
  (this.listeners[message.type] || []).forEach(function (listener) {
    listener(message.payload);
  });
};

FrameChannel.prototype.on = function (type, listener) {
  (this.listeners[type] = this.listeners[type] || []).push(listener);
};

/** Resolves with the frame's answer: `{ object }` or `{ error }`, never rejects for an API error. */
FrameChannel.prototype.request = function (action, params) {
  return this.ready.then(
    () =>
      new Promise((resolve) => {
        var id = uid('req');
        this.pending[id] = resolve;
        this.frame.contentWindow.postMessage({ payrail: 1, type: 'request', id: id, action: action, params: params || {} }, PAYRAIL_ORIGIN);
      }),
  );
};

FrameChannel.prototype.close = function () {
  window.removeEventListener('message', this.onMessage);
};

/** A frame page's URL; its settings ride in the fragment, which is never sent to a server. */
function frameUrl(page, settings) {
  return FRAME_BASE + page + '#' + encodeURIComponent(JSON.stringify(Object.assign({ parent: window.location.origin }, settings)));
}

function hiddenFrame(src) {
  var frame = document.createElement('iframe');
  frame.src = src;
  frame.title = 'Payrail';
  frame.setAttribute('aria-hidden', 'true');
  frame.tabIndex = -1;
  frame.style.cssText = 'position:absolute;width:1px;height:1px;border:0;left:-9999px;top:-9999px;visibility:hidden';
  document.body.appendChild(frame);
  return frame;
}

function validationError(code, message) {
  return { type: 'validation_error', code: code, message: message };
}

function integrationError(message) {
  return new Error('IntegrationError: ' + message);
}

/** `pi_…_secret_…` or `seti_…_secret_…`: the intent's id and kind, or null for anything else. */
function parseClientSecret(clientSecret) {
  var match = /^((pi|seti)_[A-Za-z0-9]+)_secret_[A-Za-z0-9_-]+$/.exec(String(clientSecret || ''));
  if (!match) return null;
  return { id: match[1], kind: match[2] === 'pi' ? 'payment_intent' : 'setup_intent', clientSecret: clientSecret };
}

function requireClientSecret(clientSecret, kind) {
  var parsed = parseClientSecret(clientSecret);
  if (!parsed || (kind && parsed.kind !== kind)) {
    throw integrationError(
      'Invalid value for clientSecret: it should be the client_secret of a ' + (kind === 'setup_intent' ? 'SetupIntent' : 'PaymentIntent') + '.',
    );
  }
  return parsed;
}
