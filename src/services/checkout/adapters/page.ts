/**
 * The hosted payment page's markup: the same for every session (the script fills in the order once
 * the page secret in the fragment has been checked), so nothing here is built from input. Labels,
 * autocomplete hints, a live region for errors and a dialog for 3-D Secure make it usable with a
 * keyboard and a screen reader.
 */
export function hostedPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Checkout</title>
<link rel="stylesheet" href="/js/v3/checkout.css">
<script src="/js/v3/card-fields.js" defer></script>
<script src="/js/v3/checkout-page.js" defer></script>
</head>
<body>
<main id="checkout" aria-busy="true">
  <h1 id="heading">Checkout</h1>
  <p id="status" role="status" aria-live="polite">Loading your order…</p>
  <section id="order" aria-labelledby="order-heading" hidden>
    <h2 id="order-heading">Your order</h2>
    <ul id="items"></ul>
    <p id="total"></p>
  </section>
  <form id="pay-form" novalidate hidden>
    <h2>Payment details</h2>
    <div role="alert" id="form-error" class="error" tabindex="-1"></div>
    <p><label for="email">Email</label>
      <input id="email" name="email" type="email" autocomplete="email" required aria-describedby="email-error">
      <span id="email-error" class="field-error"></span></p>
    <p><label for="name">Name on card</label>
      <input id="name" name="name" type="text" autocomplete="cc-name"></p>
    <p><label for="card-number">Card number</label>
      <input id="card-number" name="card-number" type="text" inputmode="numeric" autocomplete="cc-number" required aria-describedby="card-number-error">
      <span id="card-number-error" class="field-error"></span></p>
    <p><label for="card-expiry">Expiry (MM / YY)</label>
      <input id="card-expiry" name="card-expiry" type="text" inputmode="numeric" autocomplete="cc-exp" placeholder="MM / YY" required aria-describedby="card-expiry-error">
      <span id="card-expiry-error" class="field-error"></span></p>
    <p><label for="card-cvc">Security code (CVC)</label>
      <input id="card-cvc" name="card-cvc" type="text" inputmode="numeric" autocomplete="cc-csc" required aria-describedby="card-cvc-error">
      <span id="card-cvc-error" class="field-error"></span></p>
    <button id="submit" type="submit">Pay</button>
    <p><a id="cancel" hidden>Cancel and go back</a></p>
  </form>
  <dialog id="three-d-secure" aria-labelledby="tds-heading" aria-describedby="tds-text">
    <h2 id="tds-heading">Confirm this payment with your bank</h2>
    <p id="tds-text">Test mode: your bank asks you to confirm the payment (3-D Secure).</p>
    <button id="tds-complete" type="button">Complete authentication</button>
    <button id="tds-fail" type="button">Fail authentication</button>
  </dialog>
</main>
</body>
</html>
`;
}
