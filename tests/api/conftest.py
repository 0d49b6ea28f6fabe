import pytest


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    """Users are made in most tests here; the real hasher's cost is not what is tested."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class Api:
    """A script's view of the API: JSON in and out, a bearer token."""

    def __init__(self, token: str = "", **extra):
        from django.test import Client

        self.client = Client(**extra)
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, url, **params):
        return self.client.get(url, params, headers=self.headers)

    def post(self, url, data=None):
        return self.client.post(url, data or {}, content_type="application/json", headers=self.headers)


def token_for(user, name="script") -> str:
    from api.models import ApiToken

    return ApiToken.issue(user, name)[1]


@pytest.fixture
def api_as(db):
    def make(user, **extra):
        return Api(token_for(user) if user is not None else "", **extra)

    return make
