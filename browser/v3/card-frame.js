/*
 * The card fields frame. The only place a card number and CVC exist in the browser: typed here,
 * checked here, sent from here to Payrail (POST /v1/payment_methods with the publishable key). The
 * embedding page receives change events and the PaymentMethod Payrail answered, nothing else.
 */
(function () {
  'use strict';
  var frame = window.PayrailFrame;
  var rules = window.PayrailCardFields;
  var type = frame.settings.type === 'payment' ? 'payment' : 'card';
  var number = document.getElementById('cardnumber');
  var expiry = document.getElementById('exp-date');
  var cvc = document.getElementById('cvc');
  var errorText = document.getElementById('error');
  var fields = [number, expiry, cvc];
  var touched = {};
  document.body.className = type;
  applyStyle(frame.settings.style && frame.settings.style.base);

  /** A few of Stripe's `style.base` properties, set through the CSSOM (the frame's policy forbids inline styles). */
  function applyStyle(base) {
    if (!base || typeof base !== 'object') return;
    ['color', 'fontSize', 'fontFamily', 'fontWeight', 'lineHeight', 'letterSpacing'].forEach(function (name) {
      if (typeof base[name] !== 'string') return;
      fields.forEach(function (field) {
        field.style[name] = base[name];
      });
    });
  }

  function problems() {
    return [
      { field: number, problem: rules.numberProblem(number.value) },
      { field: expiry, problem: rules.expiryProblem(expiry.value) },
      { field: cvc, problem: rules.cvcProblem(cvc.value, number.value) },
    ];
  }

  /** The first error to show: an invalid value at once, an incomplete one only once its field was left. */
  function shownError(all, showIncomplete) {
    for (var i = 0; i < all.length; i++) {
      var problem = all[i].problem;
      if (!problem) continue;
      var incomplete = problem.code.indexOf('incomplete') === 0;
      if (!incomplete || showIncomplete || touched[all[i].field.id]) return { type: 'validation_error', code: problem.code, message: problem.message };
    }
    return undefined;
  }

  function render(all, error) {
    all.forEach(function (entry) {
      var invalid = !!error && !!entry.problem && entry.problem.message === error.message;
      entry.field.setAttribute('aria-invalid', invalid ? 'true' : 'false');
    });
    errorText.textContent = error ? error.message : '';
  }

  function changed(showIncomplete) {
    var all = problems();
    var error = shownError(all, showIncomplete);
    render(all, error);
    var empty = fields.every(function (field) {
      return field.value === '';
    });
    var complete = all.every(function (entry) {
      return !entry.problem;
    });
    frame.emit('change', { empty: empty, complete: complete, error: error, brand: rules.brandOf(number.value) });
    reportHeight();
    return { complete: complete, error: error || shownError(all, true) };
  }

  function reportHeight() {
    frame.emit('resize', { height: document.documentElement.scrollHeight });
  }

  number.addEventListener('input', function () {
    number.value = rules.formatNumber(number.value);
    changed(false);
  });
  expiry.addEventListener('input', function () {
    expiry.value = rules.formatExpiry(expiry.value);
    changed(false);
  });
  cvc.addEventListener('input', function () {
    cvc.value = rules.digits(cvc.value).slice(0, 4);
    changed(false);
  });
  fields.forEach(function (field) {
    field.addEventListener('focus', function () {
      frame.emit('focus');
    });
    field.addEventListener('blur', function () {
      if (field.value !== '') touched[field.id] = true;
      changed(false);
      frame.emit('blur');
    });
  });

  /** The card as Payrail's API takes it, or the first validation error. */
  function cardFields() {
    var state = changed(true);
    if (!state.complete) return { error: state.error };
    var exp = rules.expiryOf(expiry.value);
    return { card: { number: rules.digits(number.value), exp_month: exp.month, exp_year: exp.year, cvc: rules.digits(cvc.value) } };
  }

  function createPaymentMethod(params) {
    var fields = cardFields();
    if (fields.error) return Promise.resolve({ error: fields.error });
    var body = { type: 'card', card: fields.card };
    if (params.billing_details) body.billing_details = params.billing_details;
    if (params.metadata) body.metadata = params.metadata;
    return frame.api('POST', '/v1/payment_methods', body);
  }

  /** A legacy card token (`tok_…`) for `stripe.createToken(card, { name, address_… })`. */
  var TOKEN_CARD_FIELDS = ['name', 'address_line1', 'address_line2', 'address_city', 'address_state', 'address_zip', 'address_country'];
  function createToken(params) {
    var fields = cardFields();
    if (fields.error) return Promise.resolve({ error: fields.error });
    TOKEN_CARD_FIELDS.forEach(function (name) {
      if (typeof params[name] === 'string' && params[name] !== '') fields.card[name] = params[name];
    });
    return frame.api('POST', '/v1/tokens', { card: fields.card });
  }

  frame.serve({
    createPaymentMethod: createPaymentMethod,
    createToken: createToken,
    validate: function () {
      var state = changed(true);
      return Promise.resolve(state.complete ? {} : { error: state.error });
    },
    focus: function () {
      number.focus();
      return Promise.resolve({});
    },
    blur: function () {
      if (document.activeElement && document.activeElement.blur) document.activeElement.blur();
      return Promise.resolve({});
    },
    clear: function () {
      fields.forEach(function (field) {
        field.value = '';
      });
      touched = {};
      changed(false);
      return Promise.resolve({});
    },
  });
  reportHeight();
})();
