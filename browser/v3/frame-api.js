/*
 * Shared by Payrail's frames (controller, card fields, 3-D Secure): messages to and from the page
 * that embeds them, and calls to Payrail's API with the publishable key. The embedding page's origin
 * comes in the fragment; messages go only to it and are accepted only from it, from the parent window.
 */
(function () {
  'use strict';

  function readSettings() {
    try {
      return JSON.parse(decodeURIComponent(window.location.hash.slice(1)));
    } catch (_error) {
      return {};
    }
  }

  var settings = readSettings();
  var parentOrigin = typeof settings.parent === 'string' ? settings.parent : '';
  var validParent = (function () {
    try {
      return new URL(parentOrigin).origin === parentOrigin && window.parent !== window;
    } catch (_error) {
      return false;
    }
  })();
  var validKey = typeof settings.key === 'string' && /^pk_(test|live)_[A-Za-z0-9]+$/.test(settings.key);

  function send(message) {
    if (validParent) window.parent.postMessage(Object.assign({ payrail: 1 }, message), parentOrigin);
  }

  function emit(type, payload) {
    send({ type: type, payload: payload });
  }

  /** Requests from the page: `handlers[action](params)` answers a promise of `{ object }` or `{ error }`. */
  function serve(handlers) {
    window.addEventListener('message', function (event) {
      if (!validParent || event.origin !== parentOrigin || event.source !== window.parent) return;
      var message = event.data;
      if (!message || message.payrail !== 1 || message.type !== 'request' || typeof message.id !== 'string') return;
      var handler = Object.prototype.hasOwnProperty.call(handlers, message.action) ? handlers[message.action] : null;
      var result = handler ? handler(message.params || {}) : Promise.resolve({ error: { type: 'invalid_request_error', message: 'Unknown action.' } });
      Promise.resolve(result)
        .catch(function () {
          return { error: { type: 'api_connection_error', message: 'Payrail could not be reached. Check your connection and try again.' } };
        })
        .then(function (answer) {
          send({ type: 'answer', id: message.id, result: answer });
        });
    });
    emit('ready');
  }

  /** One call to Payrail's API with the publishable key: `{ object }` or Stripe's `{ error }`. */
  function api(method, path, body) {
    if (!validKey) return Promise.resolve({ error: { type: 'invalid_request_error', message: 'Invalid publishable key.' } });
    var init = { method: method, headers: { authorization: 'Bearer ' + settings.key, accept: 'application/json' }, credentials: 'omit' };
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (response) {
      return response.json().then(function (json) {
        return response.ok ? { object: json } : { error: json.error || { type: 'api_error', message: 'Payrail answered ' + response.status + '.' } };
      });
    });
  }

  var INTENT_PATHS = { payment_intent: '/v1/payment_intents/', setup_intent: '/v1/setup_intents/' };

  function intentPath(kind, id) {
    if (!Object.prototype.hasOwnProperty.call(INTENT_PATHS, kind) || !/^(pi|seti)_[A-Za-z0-9]+$/.test(String(id))) return null;
    return INTENT_PATHS[kind] + id;
  }

  window.PayrailFrame = { settings: settings, emit: emit, serve: serve, api: api, intentPath: intentPath };
})();
