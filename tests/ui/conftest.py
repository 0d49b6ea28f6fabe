import pytest

from tests.jobs.conftest import live_db  # noqa: F401  (a database daphne sees, with the role groups)


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    """The real hasher's cost is not what is tested here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
