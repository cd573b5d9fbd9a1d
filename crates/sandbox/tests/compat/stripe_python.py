"""Drives the sandbox with the official stripe-python library, unmodified: the compatibility bar.

Usage: python stripe_python.py <path to the paywidget binary>
Starts `paywidget sandbox` on 127.0.0.1 (a free port, in-memory database) with a webhook
endpoint served by this script, runs the scenarios, verifies the webhook signature with
stripe.Webhook.construct_event, and stops the sandbox by its PID. Prints "N passed, 0 failed".
"""

import datetime
import http.server
import json
import os
import subprocess
import sys
import threading
import time
import traceback

import stripe

SECRET = "whsec_paywidget_python_compat"
received = []


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        received.append((body, self.headers.get("Stripe-Signature")))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def main():
    binary = sys.argv[1]
    hook = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    hook_url = f"http://127.0.0.1:{hook.server_port}/hook"
    proc = subprocess.Popen(
        [binary, "sandbox", "--addr", "127.0.0.1:0", "--db", ":memory:",
         "--webhook", hook_url, "--webhook-secret", SECRET, "--retry-scale", "0.001"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        first = proc.stdout.readline().strip()
        assert first.startswith("paywidget sandbox listening on "), first
        base = first.rsplit(" ", 1)[1]
        keys = {}
        for _ in range(2):
            name, _, value = proc.stdout.readline().strip().rpartition(" ")
            keys[name.strip()] = value
        stripe.api_key = keys["secret key"]
        stripe.api_base = base
        stripe.max_network_retries = 2
        return run(keys["publishable key"])
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        hook.shutdown()


def check(name, fn, results):
    try:
        fn()
        results.append((name, None))
        print(f"ok      {name}")
    except Exception as e:  # report every failure, then fail the run
        results.append((name, e))
        print(f"FAILED  {name}: {e!r}")
        traceback.print_exc()


# Test cards expire three years from today: the sandbox checks expiry against its clock.
EXP_YEAR = datetime.date.today().year + 3


def capture(objects):
    """Adds raw sandbox objects to the file the next stage checks against stripe-node's types."""
    out = os.environ.get("PAYWIDGET_FIDELITY_OUT")
    if not out:
        return
    try:
        with open(out) as f:
            kept = json.load(f)
    except (OSError, ValueError):
        kept = {}
    kept.update(objects)
    with open(out, "w") as f:
        json.dump(kept, f)


def card(number, cvc="123"):
    return stripe.PaymentMethod.create(
        type="card",
        card={"number": number, "exp_month": 12, "exp_year": EXP_YEAR, "cvc": cvc},
        billing_details={"email": "donor@example.org", "address": {"postal_code": "94107"}},
    )


def run(publishable_key):
    results = []

    def succeed():
        pm = card("4242424242424242")
        assert pm.card.brand == "visa" and pm.card.last4 == "4242", pm
        pi = stripe.PaymentIntent.create(amount=2000, currency="usd", payment_method=pm.id, confirm=True,
                                         metadata={"order_id": "o-1"}, receipt_email="donor@example.org")
        assert pi.status == "succeeded", pi.status
        assert pi.metadata["order_id"] == "o-1"
        again = stripe.PaymentIntent.retrieve(pi.id)
        assert again.latest_charge == pi.latest_charge
        # The raw objects, for the check against stripe-node's declarations (xtask's next stage).
        charge = stripe.Charge.retrieve(pi.latest_charge)
        refund = stripe.Refund.create(payment_intent=pi.id, amount=500)
        customer = stripe.Customer.create(email="donor@example.org")
        txn = stripe.BalanceTransaction.retrieve(charge.balance_transaction)
        capture({
            "PaymentIntent": json.loads(pi.last_response.body),
            "PaymentMethod": json.loads(pm.last_response.body),
            "Charge": json.loads(charge.last_response.body),
            "Refund": json.loads(refund.last_response.body),
            "Customer": json.loads(customer.last_response.body),
            "BalanceTransaction": json.loads(txn.last_response.body),
        })
        # expand[] opens the ids the SDKs ask for.
        full = stripe.PaymentIntent.retrieve(pi.id, expand=["latest_charge", "payment_method"])
        assert full.latest_charge.object == "charge" and full.latest_charge.id == pi.latest_charge, full
        assert full.payment_method.card.last4 == "4242", full.payment_method
        try:
            stripe.PaymentIntent.retrieve(pi.id, expand=["colour"])
            raise AssertionError("expected InvalidRequestError")
        except stripe.InvalidRequestError as e:
            assert "cannot be expanded" in str(e), e
        # Every answer names its request, as Stripe's do; each its own.
        ids = {pm.last_response.request_id, pi.last_response.request_id, again.last_response.request_id}
        assert len(ids) == 3 and all(i.startswith("req_") for i in ids), ids

    def decline():
        pm = card("4000000000009995")
        try:
            stripe.PaymentIntent.create(amount=2000, currency="usd", payment_method=pm.id, confirm=True)
        except stripe.CardError as e:
            assert e.code == "card_declined", e.code
            assert e.error.decline_code == "insufficient_funds"
            assert e.http_status == 402
            assert e.request_id and e.request_id.startswith("req_"), e.request_id
            return
        raise AssertionError("expected a CardError")

    def invalid_card():
        try:
            card("4242424242424241")
        except stripe.CardError as e:
            assert e.code == "incorrect_number"
            return
        raise AssertionError("expected a CardError")

    def unknown_param():
        try:
            stripe.PaymentIntent.create(amount=100, currency="usd", colour="blue")
        except stripe.InvalidRequestError as e:
            assert e.param == "colour", e.param
            return
        raise AssertionError("expected InvalidRequestError")

    def idempotency():
        a = stripe.PaymentIntent.create(amount=500, currency="eur", idempotency_key="py-key-1")
        b = stripe.PaymentIntent.create(amount=500, currency="eur", idempotency_key="py-key-1")
        assert a.id == b.id
        try:
            stripe.PaymentIntent.create(amount=600, currency="eur", idempotency_key="py-key-1")
        except stripe.IdempotencyError:
            return
        raise AssertionError("expected IdempotencyError")

    def manual_capture_and_refund():
        pm = card("5555555555554444")
        pi = stripe.PaymentIntent.create(amount=3000, currency="usd", payment_method=pm.id,
                                         capture_method="manual", confirm=True)
        assert pi.status == "requires_capture"
        pi = stripe.PaymentIntent.capture(pi.id, amount_to_capture=2500)
        assert pi.status == "succeeded" and pi.amount_received == 2500
        r = stripe.Refund.create(payment_intent=pi.id, amount=1000)
        assert r.status == "succeeded" and r.amount == 1000
        assert stripe.Refund.retrieve(r.id).amount == 1000

    def three_d_secure():
        pm = card("4000002500003155")
        pi = stripe.PaymentIntent.create(amount=100, currency="usd", payment_method=pm.id, confirm=True,
                                         return_url="https://merchant.test/back")
        assert pi.status == "requires_action"
        assert pi.next_action.type == "redirect_to_url"
        canceled = stripe.PaymentIntent.cancel(pi.id)
        assert canceled.status == "canceled"

    def customers_off_session():
        cus = stripe.Customer.create(email="regular@example.org")
        pm = card("4242424242424242")
        stripe.PaymentMethod.attach(pm.id, customer=cus.id)
        pi = stripe.PaymentIntent.create(amount=700, currency="usd", customer=cus.id, payment_method=pm.id,
                                         off_session=True, confirm=True)
        assert pi.status == "succeeded"

    def lists_and_paging():
        ids = [p.id for p in stripe.PaymentIntent.list(limit=2).auto_paging_iter()]
        assert len(ids) == len(set(ids)) and len(ids) >= 5, ids
        events = stripe.Event.list(limit=3)
        assert events.object == "list" and len(events.data) == 3
        assert stripe.Event.retrieve(events.data[0].id).id == events.data[0].id
        txns = stripe.BalanceTransaction.list(limit=5)
        assert all(t.net == t.amount - t.fee for t in txns.data)

    def publishable_key_tokenizes_only():
        pm = stripe.PaymentMethod.create(type="card", card={"number": "378282246310005", "exp_month": 1,
                                         "exp_year": 2031, "cvc": "1234"}, api_key=publishable_key)
        assert pm.card.brand == "amex"
        try:
            stripe.PaymentIntent.list(api_key=publishable_key)
        except stripe.AuthenticationError:
            return
        raise AssertionError("expected AuthenticationError")

    def confirmation_token():
        # stripe-python's test helper (POST /v1/test_helpers/confirmation_tokens).
        pm = card("4242424242424242")
        token = stripe.ConfirmationToken.TestHelpers.create(payment_method=pm.id,
                                                            return_url="https://merchant.test/back")
        assert token.object == "confirmation_token" and token.id.startswith("ctoken_"), token
        assert token.payment_method_preview.card.last4 == "4242"
        pi = stripe.PaymentIntent.create(amount=1200, currency="usd", confirm=True, confirmation_token=token.id)
        assert pi.status == "succeeded", pi.status
        # Stripe's payment intent has no return_url field (it shows in next_action only).
        assert "return_url" not in pi, pi
        again = stripe.ConfirmationToken.retrieve(token.id)
        assert again.payment_intent == pi.id, again.payment_intent
        try:
            stripe.PaymentIntent.create(amount=1200, currency="usd", confirm=True, confirmation_token=token.id)
        except stripe.InvalidRequestError as e:
            assert e.param == "confirmation_token", e.param
            return
        raise AssertionError("a used token must be refused")

    def webhook_signature():
        deadline = time.time() + 10
        while not received and time.time() < deadline:
            time.sleep(0.05)
        assert received, "no webhook received"
        for body, sig in received:
            event = stripe.Webhook.construct_event(body, sig, SECRET)
            assert event.type.startswith(("payment_intent.", "charge.", "customer.", "invoice.", "invoice_payment.",
                                          "payment_method.", "setup_intent.", "test_helpers.test_clock.")), event.type
            # Billing's events parse into the client's objects, subscription under parent.
            if event.type == "invoice.paid":
                assert event.data.object.parent.subscription_details.subscription.startswith("sub_")
        try:
            stripe.Webhook.construct_event(received[0][0] + b" ", received[0][1], SECRET)
        except stripe.SignatureVerificationError:
            return
        raise AssertionError("a tampered payload must not verify")

    def sepa_debit():
        holder = {"name": "Jenny Rosen", "email": "jenny@example.org"}
        acceptance = {"customer_acceptance": {"type": "online",
                                              "online": {"ip_address": "203.0.113.7", "user_agent": "python"}}}

        def debit(iban):
            pm = stripe.PaymentMethod.create(type="sepa_debit", sepa_debit={"iban": iban}, billing_details=holder)
            assert pm.sepa_debit.last4 == iban[-4:] and iban[4:-4] not in pm.last_response.body, pm
            pi = stripe.PaymentIntent.create(amount=3000, currency="eur", payment_method=pm.id,
                                             payment_method_types=["sepa_debit"], confirm=True,
                                             mandate_data=acceptance)
            assert pi.status == "processing", pi.status
            for _ in range(200):
                done = stripe.PaymentIntent.retrieve(pi.id)
                if done.status != "processing":
                    return pm, pi, done
                time.sleep(0.05)
            raise AssertionError("the debit never settled")

        pm, pi, done = debit("DE89370400440532013000")
        assert done.status == "succeeded", done.status
        charge = stripe.Charge.retrieve(done.latest_charge)
        mandate = stripe.Mandate.retrieve(charge.payment_method_details.sepa_debit.mandate)
        assert mandate.customer_acceptance.online.ip_address == "203.0.113.7", mandate
        capture({
            "PaymentMethod:sepa": json.loads(pm.last_response.body),
            "PaymentIntent:processing": json.loads(pi.last_response.body),
            "Charge:sepa": json.loads(charge.last_response.body),
            "Mandate": json.loads(mandate.last_response.body),
        })
        _, _, failed = debit("DE62370400440532013001")
        assert failed.status == "requires_payment_method", failed.status
        assert failed.last_payment_error.code == "insufficient_funds", failed.last_payment_error
        for iban in ["DE89370400440532013001", "SA0380000000608010167519"]:
            try:
                stripe.PaymentMethod.create(type="sepa_debit", sepa_debit={"iban": iban}, billing_details=holder)
                raise AssertionError("expected InvalidRequestError")
            except stripe.InvalidRequestError as e:
                assert e.param == "sepa_debit[iban]" and e.code == "invalid_bank_account_iban", e
                assert iban[4:] not in str(e), e

    def billing_subscription():
        # The standard Billing flow of API versions from 2025-03-31 on, unmodified client.
        product = stripe.Product.create(name="Pro")
        price = stripe.Price.create(product=product.id, unit_amount=1500, currency="usd",
                                    recurring={"interval": "month"}, lookup_key="pro_monthly")
        assert stripe.Price.list(lookup_keys=["pro_monthly"]).data[0].id == price.id
        start = int(time.time())
        clock = stripe.test_helpers.TestClock.create(frozen_time=start, name="python")
        customer = stripe.Customer.create(email="sub@example.org", test_clock=clock.id)
        pm = card("4242424242424242")
        sub = stripe.Subscription.create(
            customer=customer.id, items=[{"price": price.id}], payment_behavior="default_incomplete",
            payment_settings={"save_default_payment_method": "on_subscription"},
            metadata={"plan": "pro"}, expand=["latest_invoice.confirmation_secret"])
        assert sub.status == "incomplete", sub.status
        invoice = sub.latest_invoice
        assert invoice.confirmation_secret.type == "payment_intent"
        assert invoice.parent.subscription_details.subscription == sub.id
        assert invoice.parent.subscription_details.metadata["plan"] == "pro"
        payments = stripe.InvoicePayment.list(invoice=invoice.id)
        pi_id = payments.data[0].payment.payment_intent
        assert invoice.confirmation_secret.client_secret.startswith(pi_id + "_secret_")
        stripe.PaymentIntent.confirm(pi_id, payment_method=pm.id)
        sub = stripe.Subscription.retrieve(sub.id)
        assert sub.status == "active", sub.status
        assert sub.default_payment_method == pm.id
        capture({
            "Subscription": json.loads(sub.last_response.body),
            "Invoice": json.loads(stripe.Invoice.retrieve(invoice.id).last_response.body),
            "Price": json.loads(price.last_response.body),
            "Product": json.loads(product.last_response.body),
        })
        period_end = sub["items"].data[0].current_period_end

        def advance(to):
            stripe.test_helpers.TestClock.advance(clock.id, frozen_time=to)
            for _ in range(50):
                if stripe.test_helpers.TestClock.retrieve(clock.id).status == "ready":
                    return
                time.sleep(0.1)
            raise AssertionError("test clock never ready")

        advance(period_end + 60)
        latest = stripe.Invoice.retrieve(stripe.Subscription.retrieve(sub.id).latest_invoice)
        assert latest.billing_reason == "subscription_cycle" and latest.status == "paid", latest.status
        # The next renewal fails on a card that declines every charge.
        bad = card("4000000000000341")
        stripe.PaymentMethod.attach(bad.id, customer=customer.id)
        stripe.Subscription.modify(sub.id, default_payment_method=bad.id)
        sub = stripe.Subscription.retrieve(sub.id)
        period_end = sub["items"].data[0].current_period_end
        advance(period_end + 60)
        sub = stripe.Subscription.retrieve(sub.id)
        assert sub.status == "past_due", sub.status
        failed = stripe.Invoice.retrieve(sub.latest_invoice)
        assert failed.status == "open" and failed.attempt_count == 1, failed
        assert failed.next_payment_attempt is not None
        advance(failed.next_payment_attempt + 60)
        assert stripe.Invoice.retrieve(failed.id).attempt_count == 2
        # A good card as the new default, then pay the invoice now.
        good = card("4242424242424242")
        stripe.PaymentMethod.attach(good.id, customer=customer.id)
        stripe.Subscription.modify(sub.id, default_payment_method=good.id)
        paid = stripe.Invoice.pay(failed.id)
        assert paid.status == "paid", paid.status
        assert stripe.Subscription.retrieve(sub.id).status == "active"
        kinds = {e.type for e in stripe.Event.list(limit=100).auto_paging_iter()}
        for kind in ["customer.subscription.created", "invoice.paid", "invoice.payment_failed",
                     "invoice_payment.paid", "customer.subscription.updated"]:
            assert kind in kinds, kind

    for name, fn in [
        ("succeed", succeed),
        ("decline", decline),
        ("invalid_card", invalid_card),
        ("unknown_param", unknown_param),
        ("idempotency", idempotency),
        ("manual_capture_and_refund", manual_capture_and_refund),
        ("three_d_secure", three_d_secure),
        ("customers_off_session", customers_off_session),
        ("lists_and_paging", lists_and_paging),
        ("publishable_key_tokenizes_only", publishable_key_tokenizes_only),
        ("confirmation_token", confirmation_token),
        ("sepa_debit", sepa_debit),
        ("billing_subscription", billing_subscription),
        ("webhook_signature", webhook_signature),
    ]:
        check(name, fn, results)
    failed = sum(1 for _, e in results if e is not None)
    print(f"stripe-python {stripe.VERSION}: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
