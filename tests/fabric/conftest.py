import pytest

from tests import factories


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Login users are made in almost every test; the production hasher is slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def inventory(db):
    """One of every fabric object, wired together the way discovery and administrators would."""
    return factories.small_inventory()
