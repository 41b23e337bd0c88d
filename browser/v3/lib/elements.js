/*
 * Payrail.js, part 2 of 4: Elements. `elements.create('card' | 'payment')` makes an Element whose
 * fields are a frame from Payrail; the page sees only what Stripe.js shows it: change events
 * (empty, complete, brand, error) and, once confirmed, the PaymentMethod's id.
 */

var ELEMENT_HEIGHTS = { card: 44, payment: 230 };

function PayrailElement(group, type, options) {
  this.group = group;
  this.type = type;
  this.options = options || {};
  this.frame = null;
  this.channel = null;
  this.handlers = {};
  this.state = { empty: true, complete: false, error: undefined, brand: 'unknown' };
}

PayrailElement.prototype.mount = function (target) {
  var container = typeof target === 'string' ? document.querySelector(target) : target;
  if (!container || !container.appendChild) throw integrationError('The selector you specified (' + String(target) + ') applies to no DOM elements.');
  if (this.frame) throw integrationError('This Element is already mounted.');
  var frame = document.createElement('iframe');
  frame.src = frameUrl('card-frame.html', { key: this.group.stripe._key, type: this.type, hidePostalCode: true, style: this.options.style || {} });
  frame.title = this.type === 'card' ? 'Secure card payment input frame' : 'Secure payment input frame';
  frame.setAttribute('allowtransparency', 'true');
  frame.style.cssText = 'border:0;width:100%;display:block;height:' + ELEMENT_HEIGHTS[this.type] + 'px;color-scheme:normal';
  container.appendChild(frame);
  this.frame = frame;
  this.channel = new FrameChannel(frame);
  this.channel.on('ready', () => this.emit('ready', { elementType: this.type }));
  this.channel.on('change', (payload) => {
    this.state = payload;
    var event = { elementType: this.type, empty: payload.empty, complete: payload.complete, error: payload.error, brand: payload.brand };
    if (this.type === 'payment') event.value = { type: 'card' };
    this.emit('change', event);
  });
  this.channel.on('focus', () => this.emit('focus', { elementType: this.type }));
  this.channel.on('blur', () => this.emit('blur', { elementType: this.type }));
  this.channel.on('resize', (payload) => {
    if (payload && payload.height > 0 && payload.height < 2000) frame.style.height = Math.ceil(payload.height) + 'px';
  });
};

PayrailElement.prototype.on = function (event, handler) {
  (this.handlers[event] = this.handlers[event] || []).push(handler);
  return this;
};

PayrailElement.prototype.off = function (event, handler) {
  this.handlers[event] = (this.handlers[event] || []).filter(function (h) {
    return handler !== undefined && h !== handler;
  });
  return this;
};

PayrailElement.prototype.once = function (event, handler) {
  var wrapped = (payload) => {
    this.off(event, wrapped);
    handler(payload);
  };
  return this.on(event, wrapped);
};

PayrailElement.prototype.emit = function (event, payload) {
  (this.handlers[event] || []).slice().forEach(function (handler) {
    handler(payload);
  });
};

PayrailElement.prototype.command = function (action, params) {
  if (!this.channel) return Promise.resolve({ error: validationError('element_not_mounted', 'This Element is not mounted.') });
  return this.channel.request(action, params);
};

PayrailElement.prototype.focus = function () {
  void this.command('focus');
};

PayrailElement.prototype.blur = function () {
  void this.command('blur');
};

PayrailElement.prototype.clear = function () {
  void this.command('clear');
};

PayrailElement.prototype.update = function (options) {
  Object.assign(this.options, options || {});
};

PayrailElement.prototype.unmount = function () {
  if (this.channel) this.channel.close();
  if (this.frame && this.frame.parentNode) this.frame.parentNode.removeChild(this.frame);
  this.frame = null;
  this.channel = null;
};

PayrailElement.prototype.destroy = function () {
  this.unmount();
  delete this.group.elements[this.type];
};

/** The frame validates its fields, creates a legacy card token on Payrail and answers `{ object }` or `{ error }`. */
PayrailElement.prototype.createToken = function (data) {
  return this.command('createToken', data || {});
};

/** The frame validates its fields, creates the PaymentMethod on Payrail and answers `{ object }` or `{ error }`. */
PayrailElement.prototype.createPaymentMethod = function (billingDetails, metadata) {
  return this.command('createPaymentMethod', { billing_details: billingDetails || undefined, metadata: metadata || undefined });
};

/** Options Stripe.js takes that Payrail.js does not apply: said once in the console, not silently dropped. */
var UNAPPLIED_OPTIONS = ['appearance', 'fonts', 'locale', 'loader'];

function warnUnapplied(options, where) {
  UNAPPLIED_OPTIONS.forEach(function (name) {
    if (options && options[name] !== undefined) console.warn('Payrail.js: ' + where + ' option "' + name + '" is not supported and has no effect.');
  });
}

function ElementsGroup(stripe, options) {
  this.stripe = stripe;
  this.options = options || {};
  this.elements = {};
  warnUnapplied(this.options, 'elements()');
}

ElementsGroup.prototype.create = function (type, options) {
  if (type !== 'card' && type !== 'payment')
    throw integrationError('Payrail.js supports the card and payment Elements; "' + String(type) + '" is not one of them.');
  if (this.elements[type]) throw integrationError('Can only create one Element of type ' + type + '.');
  var element = new PayrailElement(this, type, options);
  this.elements[type] = element;
  return element;
};

ElementsGroup.prototype.getElement = function (type) {
  return this.elements[type] || null;
};

ElementsGroup.prototype.update = function (options) {
  Object.assign(this.options, options || {});
};

/** `elements.submit()`: checks the Payment Element's fields before a confirm, as Stripe.js does. */
ElementsGroup.prototype.submit = function () {
  var element = this.elements.payment || this.elements.card;
  if (!element) return Promise.resolve({ error: validationError('element_not_mounted', 'Create and mount a payment Element first.') });
  return element.command('validate').then(function (result) {
    return result && result.error ? { error: result.error } : {};
  });
};

ElementsGroup.prototype.paymentElement = function () {
  return this.elements.payment || this.elements.card || null;
};
