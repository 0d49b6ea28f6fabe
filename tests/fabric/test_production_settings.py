"""Production settings: what an installation gets when it is neither the demo nor a test run.

Settings are read once per process, so these start `manage.py` with a clean environment.
"""
import json
import os
import stat
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

from jobs.routing import allowed_origin

BASE = settings.BASE_DIR
SECRET = "x" * 20 + "production-secret-key-with-enough-entropy-0123456789"
COMMANDS = sorted(p.stem for p in BASE.glob("*/management/commands/[a-z]*.py")) + ["migrate", "qcluster"]


def manage(*args, var_dir, extra=None, stdin=None) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(var_dir), "FERRY_VAR_DIR": str(var_dir),
           "LANG": "C.UTF-8", **(extra or {})}
    return subprocess.run([sys.executable, str(BASE / "manage.py"), *args], cwd=BASE, env=env, text=True,
                          capture_output=True, timeout=120, input=stdin or "")


def production_env(**more) -> dict:
    return {"FERRY_SECRET_KEY": SECRET, "FERRY_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "FERRY_ALLOWED_HOSTS": "ferry.example.com", **more}


SHOW = """
import json
from django.conf import settings
from django.urls import NoReverseMatch, reverse
try:
    reverse("admin:django_q_schedule_changelist")
    task_pages = True
except NoReverseMatch:
    task_pages = False
print(json.dumps({name: getattr(settings, name, None) for name in (
    "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
    "SECURE_PROXY_SSL_HEADER", "FERRY_ALLOW_INSECURE_WINRM", "SESSION_COOKIE_AGE")} | {"task_pages": task_pages}))
"""


def shown_settings(tmp_path, **env) -> dict:
    done = manage("shell", "-c", SHOW, var_dir=tmp_path / "var", extra=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_check_deploy_prints_no_warning_under_production_variables(tmp_path):
    done = manage("check", "--deploy", "--fail-level", "WARNING", var_dir=tmp_path / "var", extra=production_env())
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues (0 silenced)." in done.stdout
    assert "WARNING" not in done.stdout + done.stderr


def test_production_defaults_are_the_safe_ones(tmp_path):
    shown = shown_settings(tmp_path, **production_env())
    assert shown["SESSION_COOKIE_SECURE"] and shown["CSRF_COOKIE_SECURE"] and shown["SECURE_SSL_REDIRECT"]
    assert shown["SECURE_HSTS_SECONDS"] >= 31536000
    assert shown["SECURE_PROXY_SSL_HEADER"] is None
    assert shown["FERRY_ALLOW_INSECURE_WINRM"] is False
    assert shown["task_pages"] is False, "django-q2's admin pages must not be mounted in production"
    assert shown["SESSION_COOKIE_AGE"] == 8 * 3600

    behind_proxy = shown_settings(tmp_path, **production_env(FERRY_BEHIND_TLS_PROXY="1", FERRY_SESSION_HOURS="2"))
    assert behind_proxy["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert behind_proxy["SESSION_COOKIE_AGE"] == 2 * 3600


def test_the_demo_serves_plain_http_on_loopback(tmp_path):
    shown = shown_settings(tmp_path, FERRY_DEMO="1", FERRY_ALLOW_INSECURE_WINRM="1")
    assert not shown["SESSION_COOKIE_SECURE"] and not shown["SECURE_SSL_REDIRECT"]
    assert shown["FERRY_ALLOW_INSECURE_WINRM"] is True and shown["task_pages"] is True


def test_var_and_the_database_file_are_owner_only(tmp_path):
    var = tmp_path / "var"
    manage("check", var_dir=var, extra=production_env())
    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    assert stat.S_IMODE((var / "ferry.sqlite3").stat().st_mode) == 0o600
    var.chmod(0o755)  # an existing, too open folder is closed again
    manage("check", var_dir=var, extra=production_env())
    assert stat.S_IMODE(var.stat().st_mode) == 0o700


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_answers_help_without_the_production_keys(tmp_path, command):
    done = manage(command, "--help", var_dir=tmp_path / "var")
    assert done.returncode == 0, done.stderr
    assert f"usage: manage.py {command}" in done.stdout
    assert "ImproperlyConfigured" not in done.stderr


def test_acting_still_needs_the_production_keys(tmp_path):
    assert manage("help", var_dir=tmp_path / "var").returncode == 0
    done = manage("add_runas", "svc", "--username", "svc", var_dir=tmp_path / "var", stdin="pw\n")
    assert done.returncode != 0
    assert "FERRY_SECRET_KEY and FERRY_ENCRYPTION_KEY must be set" in done.stderr
    done = manage("migrate", var_dir=tmp_path / "var")
    assert done.returncode != 0 and "FERRY_SECRET_KEY" in done.stderr


def scope(origin: str | None, host: str | None = "ferry.example.com", scheme: str = "wss", headers=()):
    items = [(b"host", host.encode())] if host else []
    if origin:
        items.append((b"origin", origin.encode()))
    return {"type": "websocket", "scheme": scheme, "headers": items + list(headers)}


def test_websocket_origin_must_match_scheme_host_and_port(settings):
    settings.ALLOWED_HOSTS = ["ferry.example.com"]
    settings.CSRF_TRUSTED_ORIGINS = []
    assert allowed_origin(scope("https://ferry.example.com"))
    assert allowed_origin(scope("https://ferry.example.com:443"))
    assert not allowed_origin(scope("http://ferry.example.com"))  # scheme
    assert not allowed_origin(scope("https://ferry.example.com:8443"))  # port
    assert not allowed_origin(scope("https://evil.example.com"))  # host
    assert not allowed_origin(scope("https://ferry.example.com.evil.example"))
    assert not allowed_origin(scope(None))  # no origin at all
    assert not allowed_origin(scope("null"))
    # The Host header must be one Ferry answers to, or a forged Host would make any origin "same".
    assert not allowed_origin(scope("https://evil.example.com", host="evil.example.com"))
    assert allowed_origin(scope("http://ferry.example.com:8000", host="ferry.example.com:8000", scheme="ws"))


def test_websocket_origin_behind_a_tls_proxy(settings):
    settings.ALLOWED_HOSTS = ["ferry.example.com"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://ferry.example.com"]
    # daphne behind the proxy sees ws://; the configured origin is what counts.
    assert allowed_origin(scope("https://ferry.example.com", scheme="ws"))
    assert not allowed_origin(scope("https://ferry.example.com:8443", scheme="ws"))
    settings.CSRF_TRUSTED_ORIGINS = []
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    forwarded = [(b"x-forwarded-proto", b"https")]
    assert allowed_origin(scope("https://ferry.example.com", scheme="ws", headers=forwarded))
    assert not allowed_origin(scope("https://ferry.example.com", scheme="ws"))


@pytest.mark.parametrize("path", ["/fabric/servers/<script>alert(1)</script>/", "/nothing-here/<img src=x onerror=1>"])
def test_not_found_pages_do_not_echo_markup(admin_client_ferry, path):
    response = admin_client_ferry.get(path)
    assert response.status_code == 404
    body = response.content.decode()
    assert "<script>alert" not in body and "<img src=x" not in body


def test_bad_request_answers_escape_what_was_sent(operator_client, db):
    from django.urls import reverse

    for name in ("compliance:scan", "compliance:remediate"):
        response = operator_client.post(reverse(name), {"selected": ["<script>alert(1)</script>"]})
        assert response.status_code == 400, name
        body = response.content.decode()
        assert "<script>" not in body and "&lt;script&gt;" in body, name


def test_a_disallowed_host_gets_the_bad_request_page_without_the_host(client, db):
    response = client.get("/login/", HTTP_HOST="<b>evil</b>.example")
    assert response.status_code == 400
    assert "<b>evil" not in response.content.decode()
