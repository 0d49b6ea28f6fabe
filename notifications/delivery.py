"""Sending one delivery: a webhook (JSON, signed) or an e-mail (Django's mail settings).

Webhook headers: `X-Ferry-Event`, `X-Ferry-Delivery` (the same on every retry of one message, to
deduplicate), `X-Ferry-Timestamp` (Unix seconds of this attempt) and `X-Ferry-Signature:
sha256=<hex>`, the HMAC-SHA256 of the raw body with the subscription's secret.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass

import requests
from django.conf import settings
from django.core.mail import send_mail

from notifications import conf
from notifications.choices import Channel, Event

SIGNATURE_HEADER = "X-Ferry-Signature"


@dataclass
class Outcome:
    ok: bool
    status_code: int | None = None
    error: str = ""


def body_of(delivery) -> bytes:
    return json.dumps({**delivery.payload, "delivery": delivery.pk}, sort_keys=True).encode()


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send(delivery) -> Outcome:
    subscription = delivery.subscription
    if subscription is None:
        return Outcome(False, error="The subscription was deleted.")
    if delivery.channel == Channel.WEBHOOK:
        return _post(delivery, subscription.secret)
    return _mail(delivery)


def _describe(error: requests.RequestException) -> str:
    """What went wrong, without the address (its path may hold the receiver's secret)."""
    if isinstance(error, requests.Timeout):
        return f"No answer within {float(conf.get('TIMEOUT_SECONDS')):g} s."
    if isinstance(error, requests.ConnectionError):
        return "Could not connect to the receiver (refused, unreachable or a TLS failure)."
    return f"The request failed ({type(error).__name__})."


def _post(delivery, secret: str) -> Outcome:
    body = body_of(delivery)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Ferry-Webhook/1",
        "X-Ferry-Event": delivery.event,
        "X-Ferry-Delivery": str(delivery.pk),
        "X-Ferry-Timestamp": str(int(time.time())),
        SIGNATURE_HEADER: signature(secret, body),
    }
    try:
        answer = requests.post(delivery.subscription.url, data=body, headers=headers,
                               timeout=float(conf.get("TIMEOUT_SECONDS")), allow_redirects=False)
    except requests.RequestException as error:
        return Outcome(False, error=_describe(error))
    if 200 <= answer.status_code < 300:
        return Outcome(True, answer.status_code)
    return Outcome(False, answer.status_code, f"The receiver answered HTTP {answer.status_code}.")


def _subject(payload: dict) -> str:
    job = payload["job"]
    what = {Event.SUCCEEDED: "succeeded", Event.FAILED: "failed",
            Event.NEEDS_ATTENTION: "needs attention"}.get(payload["event"], payload["event"])
    return f"Ferry: job #{job['id']} {job['title']} {what}"


def _mail(delivery) -> Outcome:
    payload = delivery.payload
    lines = [_subject(payload), ""]
    if payload.get("reason"):
        lines += [payload["reason"], ""]
    job = payload["job"]
    lines += [f"Target: {job['target']}", f"Status: {job['status']}", f"Job page: {job['url']}"]
    try:
        send_mail(_subject(payload), "\n".join(lines), settings.DEFAULT_FROM_EMAIL, [delivery.destination])
    except Exception as error:  # SMTP and socket errors alike: this attempt failed, a retry may not
        return Outcome(False, error=f"{type(error).__name__}: {error}"[:500])
    return Outcome(True)
