/*
 * The hosted Checkout page (served by the checkout service at /c/pay/:id). Reads the page secret from
 * the URL's fragment, shows the order, takes the card, and answers 3-D Secure in a dialog. Errors are
 * announced (role=alert) and focus moves to them; everything works from the keyboard.
 */
(function () {
  'use strict';
  var rules = window.PayrailCardFields;
  var sessionId = window.location.pathname.split('/').pop();
  var secret = window.location.hash.slice(1);
  var byId = document.getElementById.bind(document);
  var main = byId('checkout');
  var status = byId('status');
  var form = byId('pay-form');
  var formError = byId('form-error');
  var submit = byId('submit');
  var dialog = byId('three-d-secure');
  var inputs = { email: byId('email'), name: byId('name'), number: byId('card-number'), expiry: byId('card-expiry'), cvc: byId('card-cvc') };
  var summary = null;

  function call(action, body) {
    return fetch('/c/pay/' + encodeURIComponent(sessionId) + '/' + action, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(Object.assign({ secret: secret }, body || {})),
      credentials: 'omit',
    }).then(function (response) {
      return response.json().then(function (json) {
        return { ok: response.ok, body: json };
      });
    });
  }

  function money(amount, currency) {
    try {
      return new Intl.NumberFormat(undefined, { style: 'currency', currency: currency.toUpperCase() }).format(amount / Math.pow(10, exponent(currency)));
    } catch (_error) {
      return amount + ' ' + currency.toUpperCase();
    }
  }

  function exponent(currency) {
    var parts = new Intl.NumberFormat('en', { style: 'currency', currency: currency.toUpperCase() }).resolvedOptions();
    return parts.maximumFractionDigits;
  }

  function showOrder(data) {
    var list = byId('items');
    list.textContent = '';
    data.line_items.forEach(function (item) {
      var entry = document.createElement('li');
      entry.textContent = item.name + ' × ' + item.quantity + ' — ' + money(item.amount, data.currency);
      list.appendChild(entry);
    });
    if (data.mode === 'payment') {
      byId('total').textContent = 'Total: ' + money(data.amount_total, data.currency);
      submit.textContent =
        (data.submit_type === 'donate' ? 'Donate ' : data.submit_type === 'book' ? 'Book and pay ' : 'Pay ') + money(data.amount_total, data.currency);
    } else {
      byId('order-heading').textContent = 'Save your card for later payments';
      submit.textContent = 'Save card';
    }
    if (data.customer_email) {
      inputs.email.value = data.customer_email;
      inputs.email.readOnly = true;
    }
    if (data.cancel_url) {
      var cancel = byId('cancel');
      cancel.href = data.cancel_url;
      cancel.hidden = false;
    }
    byId('order').hidden = false;
    form.hidden = false;
  }

  function load() {
    call('summary').then(
      function (answer) {
        main.setAttribute('aria-busy', 'false');
        if (!answer.ok) return finish('This checkout link is not valid.');
        summary = answer.body;
        if (summary.status === 'complete' && summary.success_url) return window.location.assign(summary.success_url);
        if (summary.status === 'expired') return finish('This checkout session has expired. Return to the shop to start again.');
        status.textContent = '';
        showOrder(summary);
      },
      function () {
        finish('Payrail could not be reached. Check your connection and reload this page.');
      },
    );
  }

  function finish(message) {
    status.textContent = message;
    form.hidden = true;
  }

  function fieldError(input, problem) {
    var holder = byId(input.id + '-error');
    input.setAttribute('aria-invalid', problem ? 'true' : 'false');
    if (holder) holder.textContent = problem ? problem.message : '';
    return problem;
  }

  function validate() {
    var emailProblem = /^[^@\s]+@[^@\s]+$/.test(inputs.email.value) ? null : { message: 'Enter a valid email address.' };
    var found = [
      [inputs.email, emailProblem],
      [inputs.number, rules.numberProblem(inputs.number.value)],
      [inputs.expiry, rules.expiryProblem(inputs.expiry.value)],
      [inputs.cvc, rules.cvcProblem(inputs.cvc.value, inputs.number.value)],
    ].filter(function (pair) {
      return fieldError(pair[0], pair[1]);
    });
    return found.length === 0 ? null : found[0];
  }

  function showError(message) {
    formError.textContent = message;
    formError.focus();
    submit.disabled = false;
    submit.removeAttribute('aria-disabled');
  }

  function customer() {
    return { email: inputs.email.value, name: inputs.name.value || undefined };
  }

  function handle(answer) {
    if (!answer.ok) return showError((answer.body.error && answer.body.error.message) || 'The payment failed. Try another card.');
    if (answer.body.next === 'redirect') {
      status.textContent = 'Payment complete. Taking you back to the shop…';
      return window.location.assign(answer.body.url);
    }
    if (answer.body.next === 'authenticate') return dialog.showModal();
    return showError('Something went wrong. Reload this page and try again.');
  }

  function authenticate(outcome) {
    dialog.close();
    status.textContent = 'Checking the authentication…';
    call('authenticate', Object.assign({ outcome: outcome }, customer())).then(handle, function () {
      showError('Payrail could not be reached. Check your connection and try again.');
    });
  }

  inputs.number.addEventListener('input', function () {
    inputs.number.value = rules.formatNumber(inputs.number.value);
  });
  inputs.expiry.addEventListener('input', function () {
    inputs.expiry.value = rules.formatExpiry(inputs.expiry.value);
  });
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    formError.textContent = '';
    var problem = validate();
    if (problem) {
      showError('Check the highlighted fields: ' + problem[1].message);
      problem[0].focus();
      return;
    }
    submit.disabled = true;
    status.textContent = 'Processing your payment…';
    var expiry = rules.expiryOf(inputs.expiry.value);
    var card = {
      number: rules.digits(inputs.number.value),
      exp_month: String(expiry.month),
      exp_year: String(expiry.year),
      cvc: rules.digits(inputs.cvc.value),
    };
    call('pay', Object.assign({ card: card }, customer())).then(handle, function () {
      showError('Payrail could not be reached. Check your connection and try again.');
    });
  });
  byId('tds-complete').addEventListener('click', function () {
    authenticate('succeeded');
  });
  byId('tds-fail').addEventListener('click', function () {
    authenticate('failed');
  });
  dialog.addEventListener('cancel', function (event) {
    event.preventDefault();
    authenticate('failed');
  });
  load();
})();
