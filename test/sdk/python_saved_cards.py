"""Saved cards and the older integration style, driven by Debian's python3-stripe against a Payrail
given by the environment (PAYRAIL_URL, PAYRAIL_SECRET_KEY): a SetupIntent, an off-session payment,
a token and a legacy charge. Prints one JSON object of what each step returned, for
test/sdk/python-saved-cards.test.ts to check. stripe-python 5 sends booleans as "True"/"False"."""
import json
import os

import stripe

stripe.api_key = os.environ["PAYRAIL_SECRET_KEY"]
stripe.api_base = os.environ["PAYRAIL_URL"]
stripe.api_version = "2023-08-16"
stripe.max_network_retries = 0

result = {}
customer = stripe.Customer.create(email="saver@example.com")
setup = stripe.SetupIntent.create(customer=customer.id, payment_method="pm_card_visa", confirm=True, usage="off_session")
result["setup"] = {"status": setup.status, "payment_method": setup.payment_method}

paid = stripe.PaymentIntent.create(
    amount=1800, currency="usd", customer=customer.id, payment_method=setup.payment_method, off_session=True, confirm=True
)
result["off_session"] = {"status": paid.status, "amount_received": paid.amount_received}

try:
    stripe.PaymentIntent.create(
        amount=1800, currency="usd", customer=customer.id, payment_method="pm_card_authenticationRequired", off_session=True, confirm=True
    )
    result["authentication_required"] = None
except stripe.error.CardError as error:
    result["authentication_required"] = {"code": error.code, "http_status": error.http_status}

token = stripe.Token.create(card={"number": "4242424242424242", "exp_month": "12", "exp_year": "2034", "cvc": "123"})
charge = stripe.Charge.create(amount=1500, currency="usd", source=token.id, capture=True)
result["charge"] = {"status": charge.status, "captured": charge.captured, "payment_intent": charge.payment_intent, "source_brand": charge.source.brand}

try:
    stripe.Charge.create(amount=1500, currency="usd", source=token.id)
    result["reused"] = None
except stripe.error.InvalidRequestError as error:
    result["reused"] = {"code": error.code, "http_status": error.http_status}

try:
    stripe.Charge.create(amount=1500, currency="usd", source="tok_chargeDeclined")
    result["declined"] = None
except stripe.error.CardError as error:
    result["declined"] = {"code": error.code, "decline_code": error.error.decline_code, "http_status": error.http_status}

print(json.dumps(result))
