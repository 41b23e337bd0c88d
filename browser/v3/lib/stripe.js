/*
 * Payrail.js, part 4 of 4: `Stripe(publishableKey)` and its methods, answering as Stripe.js does:
 * a promise of `{ paymentIntent }`, `{ setupIntent }`, `{ paymentMethod }` or `{ error }`.
 */

function Stripe(key, options) {
  if (!(this instanceof Stripe)) return new Stripe(key, options);
  if (typeof key !== 'string' || !/^pk_(test|live)_[A-Za-z0-9]+$/.test(key)) {
    throw integrationError('Invalid value for Stripe(): apiKey should be a publishable key (pk_test_… or pk_live_…).');
  }
  this._key = key;
  this._channel = null;
}

Stripe.prototype._call = function (action, params) {
  if (!this._channel) this._channel = new FrameChannel(hiddenFrame(frameUrl('controller.html', { key: this._key })));
  return this._channel.request(action, params);
};

Stripe.prototype.elements = function (options) {
  return new ElementsGroup(this, options);
};

/** The PaymentMethod a confirm uses: an Element's card (created by its frame), an existing id, or none. */
function paymentMethodFrom(data) {
  var method = data && data.payment_method;
  if (method === undefined || method === null) return Promise.resolve({});
  if (typeof method === 'string') return Promise.resolve({ id: method });
  if (method.card instanceof PayrailElement) {
    return method.card.createPaymentMethod(method.billing_details, method.metadata).then(function (answer) {
      return answer.error ? { error: answer.error } : { id: answer.object.id };
    });
  }
  return Promise.reject(integrationError('payment_method.card must be a card Element created by elements.create("card").'));
}

function confirmWith(stripe, intent, data, options) {
  return paymentMethodFrom(data).then(function (method) {
    if (method.error) return { error: method.error };
    var params = { client_secret: intent.clientSecret };
    if (method.id) params.payment_method = method.id;
    ['return_url', 'setup_future_usage', 'receipt_email', 'shipping'].forEach(function (name) {
      if (data && data[name] !== undefined) params[name] = data[name];
    });
    var handleActions = !options || options.handleActions !== false;
    var confirm = function () {
      return stripe._call('confirm', { kind: intent.kind, id: intent.id, params: params }).then(function (answer) {
        return settleNextAction(stripe, intent, answer, handleActions);
      });
    };
    if (method.id) return confirm();
    // Without a new payment method, an intent already waiting for 3-D Secure is authenticated, not confirmed again (as Stripe.js does).
    return stripe._call('retrieve', intent).then(function (current) {
      return !current.error && current.object.status === 'requires_action' ? settleNextAction(stripe, intent, current, handleActions) : confirm();
    });
  });
}

Stripe.prototype.confirmCardPayment = function (clientSecret, data, options) {
  return confirmWith(this, requireClientSecret(clientSecret, 'payment_intent'), data, options);
};

Stripe.prototype.confirmCardSetup = function (clientSecret, data, options) {
  return confirmWith(this, requireClientSecret(clientSecret, 'setup_intent'), data, options);
};

/** `confirmPayment` / `confirmSetup`: the Payment Element's card, then Stripe's redirect rules. */
function confirmElements(stripe, kind, options) {
  var settings = options || {};
  var elements = settings.elements;
  if (!(elements instanceof ElementsGroup)) return Promise.reject(integrationError('Pass the elements instance that created the payment Element.'));
  var intent = requireClientSecret(settings.clientSecret || elements.options.clientSecret, kind);
  var confirmParams = settings.confirmParams || {};
  var redirect = settings.redirect || 'always';
  if (redirect !== 'if_required' && !confirmParams.return_url) return Promise.reject(integrationError('confirmParams.return_url is required.'));
  var element = elements.paymentElement();
  if (!element) return Promise.reject(integrationError('Create and mount a payment Element before confirming.'));
  var billing = confirmParams.payment_method_data && confirmParams.payment_method_data.billing_details;
  var data = { payment_method: { card: element, billing_details: billing }, return_url: confirmParams.return_url };
  return confirmWith(stripe, intent, data).then(function (result) {
    if (result.error || redirect === 'if_required') return result;
    var object = result.paymentIntent || result.setupIntent;
    var url = new URL(confirmParams.return_url);
    var prefix = kind === 'setup_intent' ? 'setup_intent' : 'payment_intent';
    url.searchParams.set(prefix, object.id);
    url.searchParams.set(prefix + '_client_secret', intent.clientSecret);
    url.searchParams.set('redirect_status', object.status === 'requires_payment_method' ? 'failed' : 'succeeded');
    window.location.assign(url.toString());
    // As with Stripe.js, a confirm that redirects never resolves: the page is going away.
    return new Promise(function () {});
  });
}

Stripe.prototype.confirmPayment = function (options) {
  return confirmElements(this, 'payment_intent', options);
};

Stripe.prototype.confirmSetup = function (options) {
  return confirmElements(this, 'setup_intent', options);
};

Stripe.prototype.createPaymentMethod = function (options) {
  var settings = options || {};
  var element = settings.elements instanceof ElementsGroup ? settings.elements.paymentElement() : settings.card;
  if (!(element instanceof PayrailElement))
    return Promise.reject(integrationError('createPaymentMethod needs a card Element (card) or the elements instance (elements).'));
  if (settings.type !== undefined && settings.type !== 'card') return Promise.reject(integrationError('Payrail.js creates card PaymentMethods only.'));
  var billing = settings.billing_details || (settings.params && settings.params.billing_details);
  return element.createPaymentMethod(billing, settings.metadata).then(function (answer) {
    return answer.error ? { error: answer.error } : { paymentMethod: answer.object };
  });
};

/** `createToken(cardElement, { name, address_… })`: the legacy Charges API's card token, `{ token }` or `{ error }`. */
Stripe.prototype.createToken = function (element, data) {
  if (!(element instanceof PayrailElement)) return Promise.reject(integrationError('createToken needs a card Element; Payrail.js makes card tokens only.'));
  return element.createToken(data).then(function (answer) {
    return answer.error ? { error: answer.error } : { token: answer.object };
  });
};

/** 3-D Secure for an intent confirmed elsewhere (on the server, say): `handleNextAction({ clientSecret })`. */
Stripe.prototype.handleNextAction = function (options) {
  var intent = requireClientSecret(options && options.clientSecret);
  return this._call('retrieve', intent).then((answer) => settleNextAction(this, intent, answer, true));
};

Stripe.prototype.handleCardAction = function (clientSecret) {
  return this.handleNextAction({ clientSecret: clientSecret });
};

Stripe.prototype.handleCardSetup = function (clientSecret) {
  return this.handleNextAction({ clientSecret: clientSecret });
};

function retrieveIntent(stripe, clientSecret, kind) {
  var intent = requireClientSecret(clientSecret, kind);
  return stripe._call('retrieve', intent).then(function (answer) {
    if (answer.error) return { error: answer.error };
    return kind === 'setup_intent' ? { setupIntent: answer.object } : { paymentIntent: answer.object };
  });
}

Stripe.prototype.retrievePaymentIntent = function (clientSecret) {
  return retrieveIntent(this, clientSecret, 'payment_intent');
};

Stripe.prototype.retrieveSetupIntent = function (clientSecret) {
  return retrieveIntent(this, clientSecret, 'setup_intent');
};

Stripe.version = 3;
window.Stripe = Stripe;
