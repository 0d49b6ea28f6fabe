"""Signing in: lockout after repeated failures, audit and log of every attempt, session lifetime."""
import logging

import pytest
from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.test import Client

from core.models import AuditEntry
from tests.conftest import PASSWORD
from tests.helpers import database_text

WRONG = "not-the-password"


def sign_in(client, username, password, url="/login/"):
    return client.post(url, {"username": username, "password": password})


def signed_in(client) -> bool:
    return client.get("/fabric/servers/").status_code == 200


def test_six_wrong_passwords_lock_the_account_out_even_for_the_right_one(viewer, caplog):
    client = Client()
    with caplog.at_level(logging.WARNING, logger="ferry.audit"):
        answers = [sign_in(client, "vera", WRONG) for _ in range(6)]
    assert [a.status_code for a in answers[:4]] == [200] * 4  # the form again, "wrong password"
    assert answers[5].status_code == 429
    page = answers[5].content.decode()
    assert "Sign-in locked" in page and "Try again after" in page and "15 minutes" in page

    refused = sign_in(client, "vera", PASSWORD)
    assert refused.status_code == 429 and "Try again after" in refused.content.decode()
    assert not signed_in(client)
    # The admin's sign-in page is locked for the same user and address too.
    assert sign_in(client, "vera", PASSWORD, url="/admin/login/").status_code == 429
    assert not signed_in(client)

    failed = AuditEntry.objects.filter(detail="login failed", object_repr="vera")
    assert failed.count() >= 6
    assert all((e.username, e.source_address) == ("anonymous", "127.0.0.1") for e in failed)
    assert AuditEntry.objects.filter(detail__startswith="locked out", object_repr="vera").exists()
    assert "failed login for user 'vera' from 127.0.0.1" in caplog.text
    assert WRONG not in caplog.text and PASSWORD not in caplog.text
    assert not AuditEntry.objects.filter(detail__contains=WRONG).exists()
    assert WRONG not in database_text() and PASSWORD not in database_text()  # lockout records included


def test_the_lockout_is_per_user_and_address(viewer, make_user):
    attacker = Client(REMOTE_ADDR="192.0.2.66")
    for _ in range(6):
        sign_in(attacker, "vera", WRONG)
    assert sign_in(attacker, "vera", PASSWORD).status_code == 429
    # Vera at her own desk still signs in, and another user from the attacker's address too.
    vera = Client(REMOTE_ADDR="192.0.2.10")
    assert sign_in(vera, "vera", PASSWORD).status_code == 302 and signed_in(vera)
    make_user("otto")
    otto = Client(REMOTE_ADDR="192.0.2.66")
    assert sign_in(otto, "otto", PASSWORD).status_code == 302 and signed_in(otto)


def test_the_lockout_ends_after_the_cool_off(viewer, settings):
    from axes.models import AccessAttempt
    from django.utils import timezone

    client = Client()
    for _ in range(6):
        sign_in(client, "vera", WRONG)
    assert sign_in(client, "vera", PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME * 2)
    assert sign_in(client, "vera", PASSWORD).status_code == 302 and signed_in(client)


def test_sign_in_and_sign_out_are_audited_with_the_address(viewer):
    client = Client(REMOTE_ADDR="198.51.100.7")
    assert sign_in(client, "vera", PASSWORD).status_code == 302
    assert client.post("/logout/").status_code == 302
    rows = list(AuditEntry.objects.filter(username="vera").order_by("id").values_list("detail", "source_address"))
    assert rows == [("logged in", "198.51.100.7"), ("logged out", "198.51.100.7")]


def test_forwarded_address_counts_only_from_a_trusted_proxy(viewer, settings):
    forged = Client(REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="10.0.0.1")
    sign_in(forged, "vera", WRONG)
    assert AuditEntry.objects.get(detail="login failed").source_address == "203.0.113.5"

    settings.FERRY_TRUSTED_PROXIES = ["10.99.0.0/24"]
    proxied = Client(REMOTE_ADDR="10.99.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.20, 10.99.0.3")
    assert sign_in(proxied, "vera", PASSWORD).status_code == 302
    # The right-most address the trusted proxies did not add themselves: what the client cannot forge.
    assert AuditEntry.objects.get(detail="logged in").source_address == "198.51.100.20"


def test_a_session_lasts_eight_hours_by_default():
    assert settings.SESSION_COOKIE_AGE == 8 * 3600


@pytest.mark.parametrize("password", ["short1A!", "password123456", "12345678901234"])
def test_weak_passwords_are_refused(viewer, password):
    with pytest.raises(ValidationError):
        password_validation.validate_password(password, user=viewer)
    password_validation.validate_password("grey-Otter-lantern-91", user=viewer)


def test_the_lockout_page_escapes_the_user_name_it_repeats(db):
    client = Client()
    name = "<script>alert(1)</script>"
    for _ in range(6):
        answer = sign_in(client, name, WRONG)
    assert answer.status_code == 429
    body = answer.content.decode()
    assert name not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
