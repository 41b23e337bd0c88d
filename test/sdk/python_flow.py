"""The common integration flow, driven by Debian's python3-stripe against a Payrail given by the
environment (PAYRAIL_URL, PAYRAIL_SECRET_KEY). Prints one JSON object of what each step returned, for
test/sdk/python-sdk.test.ts to check. stripe-python 5 sends booleans as "True"/"False"."""
import json
import os
import sys

import stripe

stripe.api_key = os.environ["PAYRAIL_SECRET_KEY"]
stripe.api_base = os.environ["PAYRAIL_URL"]
stripe.api_version = "2023-08-16"
stripe.max_network_retries = 0

result = {}
customer = stripe.Customer.create(email="py@example.com", name="Py Thon", metadata={"order": "42"})
result["customer"] = {"id": customer.id, "email": customer.email, "metadata": dict(customer.metadata)}

intent = stripe.PaymentIntent.create(amount=2000, currency="usd", customer=customer.id, payment_method="pm_card_visa", confirm=True)
result["confirmed"] = {"id": intent.id, "status": intent.status, "amount_received": intent.amount_received}

manual = stripe.PaymentIntent.create(amount=1500, currency="usd", payment_method="pm_card_visa", capture_method="manual", confirm=True)
captured = stripe.PaymentIntent.capture(manual.id, amount_to_capture=1000)
result["captured"] = {"before": manual.status, "after": captured.status, "amount_received": captured.amount_received}

refund = stripe.Refund.create(payment_intent=intent.id, amount=500)
result["refund"] = {"status": refund.status, "amount": refund.amount}

try:
    stripe.PaymentIntent.create(amount=2000, currency="usd", payment_method="pm_card_chargeDeclined", confirm=True)
    result["declined"] = None
except stripe.error.CardError as error:
    result["declined"] = {"code": error.code, "decline_code": error.error.decline_code, "http_status": error.http_status}

listed = stripe.PaymentIntent.list(limit=10, customer=customer.id)
result["listed"] = [item.id for item in listed.auto_paging_iter()]

again = stripe.PaymentIntent.create(amount=700, currency="usd", payment_method="pm_card_visa", confirm=True, idempotency_key="py-flow-key")
replay = stripe.PaymentIntent.create(amount=700, currency="usd", payment_method="pm_card_visa", confirm=True, idempotency_key="py-flow-key")
result["idempotent"] = {"first": again.id, "replay": replay.id}

json.dump(result, sys.stdout)
