import pytest


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def notify_now(transactional_db, settings, monkeypatch):
    """Committed rows (the hooks run after commit), django-q2 inline, short retry waits, e-mail kept."""
    from django.contrib.auth.models import Group
    from django_q.conf import Conf

    from core.roles import ROLES
    from tests.jobs.conftest import FAST

    for role in ROLES:
        Group.objects.get_or_create(name=role)
    monkeypatch.setattr(Conf, "SYNC", True)
    settings.FERRY_JOBS = dict(FAST)
    settings.FERRY_NOTIFY = {"RETRY_DELAY_SECONDS": 0.05, "ATTEMPTS": 4, "TIMEOUT_SECONDS": 5.0}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.FERRY_PUBLIC_URL = "https://ferry.example.com"
