"""Checks the host's outgoing webhooks with an independent implementation of the Standard
Webhooks specification: the `standardwebhooks` package from PyPI (its Webhook.verify).

Usage: python standard_webhooks.py <capture.json>
The capture is written by the host test
`hooks::webhooks_are_signed_retried_rotated_replayed_and_never_sent_inside` when
PAYWIDGET_HOOKS_CAPTURE names a file: the secrets the dashboard showed (before and after a
rotation) and every request the test's receiver got, with the status it answered.
Prints "N passed, 0 failed" and exits non-zero on any failure.
"""

import json
import sys

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

passed = 0
failed = 0


def check(name, ok):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name}")


def verifies(secret, req):
    headers = {
        "webhook-id": req["id"],
        "webhook-timestamp": req["timestamp"],
        "webhook-signature": req["signature"],
    }
    try:
        Webhook(secret).verify(req["body"].encode(), headers)
        return True
    except WebhookVerificationError:
        return False


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        capture = json.load(f)
    first, second = capture["first_secret"], capture["second_secret"]
    reqs = capture["requests"]
    check("the capture holds the test's six requests", len(reqs) == 6)
    if len(reqs) != 6:
        sys.exit(1)
    check("secrets are whsec_ with 32 bytes", all(
        s.startswith("whsec_") and len(s) == len("whsec_") + 44 for s in (first, second)))
    # Before the rotation: the first secret signs, the second (not yet made) does not.
    for i in (0, 1):
        check(f"request {i} verifies with the first secret", verifies(first, reqs[i]))
        check(f"request {i} does not verify with the later secret", not verifies(second, reqs[i]))
    # The receiver failed the first try: the retry is the same message.
    check("the first try was answered 500", reqs[0]["answered"] == 500)
    check("the retry carries the same webhook-id and body",
          reqs[1]["id"] == reqs[0]["id"] and reqs[1]["body"] == reqs[0]["body"])
    check("the retried event is payment.succeeded",
          json.loads(reqs[1]["body"])["type"] == "payment.succeeded")
    # After the rotation, within its 24 hours: both secrets verify.
    for i in range(2, 6):
        check(f"request {i} verifies with the new secret", verifies(second, reqs[i]))
        check(f"request {i} verifies with the rotated-out secret", verifies(first, reqs[i]))
    check("request 2 is the test event", json.loads(reqs[2]["body"])["type"] == "webhook.test")
    check("the replay is the payment's message again",
          reqs[3]["id"] == reqs[0]["id"] and reqs[3]["body"] == reqs[0]["body"])
    # Tampering: a changed body, id or timestamp fails the independent check.
    forged = dict(reqs[1], body=reqs[1]["body"].replace("2500", "250000"))
    check("a changed body does not verify", not verifies(first, forged))
    forged = dict(reqs[1], id="msg_forged")
    check("a changed id does not verify", not verifies(first, forged))
    check("the private-address endpoint was refused at delivery", capture["refused_error"] is True)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
