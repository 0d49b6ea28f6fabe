import pytest


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    """Users are made in every test here; the real hasher's cost is not what is tested."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
