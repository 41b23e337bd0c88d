/*
 * Card field rules, shared by the card frame and the hosted Checkout page: brand from the number's
 * first digits, formatting, Luhn, expiry. Pure functions on strings; nothing here sends or keeps data.
 */
(function () {
  'use strict';

  var BRANDS = [
    { brand: 'amex', pattern: /^3[47]/, lengths: [15], cvc: 4, groups: [4, 6, 5] },
    { brand: 'diners', pattern: /^3(0[0-5]|[689])/, lengths: [14, 16], cvc: 3, groups: [4, 6, 4] },
    { brand: 'discover', pattern: /^(6011|65|64[4-9])/, lengths: [16], cvc: 3, groups: [4, 4, 4, 4] },
    { brand: 'jcb', pattern: /^35/, lengths: [16], cvc: 3, groups: [4, 4, 4, 4] },
    { brand: 'mastercard', pattern: /^(5[1-5]|2(2[2-9]|[3-6]|7[01]|720))/, lengths: [16], cvc: 3, groups: [4, 4, 4, 4] },
    { brand: 'unionpay', pattern: /^62/, lengths: [16, 17, 18, 19], cvc: 3, groups: [4, 4, 4, 4, 3] },
    { brand: 'visa', pattern: /^4/, lengths: [13, 16, 19], cvc: 3, groups: [4, 4, 4, 4, 3] },
  ];
  var UNKNOWN = { brand: 'unknown', pattern: /^/, lengths: [16], cvc: 3, groups: [4, 4, 4, 4, 3] };

  function digits(value) {
    return String(value || '').replace(/\D/g, '');
  }

  function brandOf(number) {
    var plain = digits(number);
    for (var i = 0; i < BRANDS.length; i++) if (BRANDS[i].pattern.test(plain)) return BRANDS[i];
    return UNKNOWN;
  }

  function luhn(number) {
    var sum = 0;
    for (var i = 0; i < number.length; i++) {
      var digit = Number(number.charAt(number.length - 1 - i));
      if (i % 2 === 1) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
      sum += digit;
    }
    return number.length > 0 && sum % 10 === 0;
  }

  function formatNumber(value) {
    var plain = digits(value).slice(0, 19);
    var groups = brandOf(plain).groups;
    var parts = [];
    var at = 0;
    for (var i = 0; i < groups.length && at < plain.length; i++) {
      parts.push(plain.slice(at, at + groups[i]));
      at += groups[i];
    }
    return parts.join(' ');
  }

  function formatExpiry(value) {
    var plain = digits(value).slice(0, 4);
    if (plain.length === 1 && plain > '1') plain = '0' + plain;
    return plain.length > 2 ? plain.slice(0, 2) + ' / ' + plain.slice(2) : plain;
  }

  /** `{ code, message }` as Stripe.js words them, or null when the field is complete and valid. */
  function numberProblem(value) {
    var plain = digits(value);
    var brand = brandOf(plain);
    if (plain.length === 0 || (brand.lengths.indexOf(plain.length) < 0 && plain.length < Math.max.apply(null, brand.lengths))) {
      return { code: 'incomplete_number', message: 'Your card number is incomplete.' };
    }
    if (!luhn(plain) || brand.lengths.indexOf(plain.length) < 0) return { code: 'invalid_number', message: 'Your card number is invalid.' };
    return null;
  }

  function expiryOf(value) {
    var plain = digits(value);
    return { month: Number(plain.slice(0, 2)), year: 2000 + Number(plain.slice(2, 4)), complete: plain.length === 4 };
  }

  function expiryProblem(value, now) {
    var expiry = expiryOf(value);
    if (!expiry.complete) return { code: 'incomplete_expiry', message: "Your card's expiration date is incomplete." };
    if (expiry.month < 1 || expiry.month > 12) return { code: 'invalid_expiry_month', message: "Your card's expiration date is invalid." };
    var today = now || new Date();
    if (expiry.year < today.getFullYear() || (expiry.year === today.getFullYear() && expiry.month < today.getMonth() + 1)) {
      return { code: 'invalid_expiry_year_past', message: "Your card's expiration year is in the past." };
    }
    return null;
  }

  function cvcProblem(value, number) {
    var plain = digits(value);
    var wanted = brandOf(number).cvc;
    if (plain.length < wanted) return { code: 'incomplete_cvc', message: "Your card's security code is incomplete." };
    if (plain.length > 4) return { code: 'invalid_cvc', message: "Your card's security code is invalid." };
    return null;
  }

  window.PayrailCardFields = {
    digits: digits,
    brandOf: function (number) {
      return brandOf(number).brand;
    },
    formatNumber: formatNumber,
    formatExpiry: formatExpiry,
    numberProblem: numberProblem,
    expiryProblem: expiryProblem,
    cvcProblem: cvcProblem,
    expiryOf: expiryOf,
  };
})();
