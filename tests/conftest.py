"""Fixtures shared by every test folder."""
import os

import pytest
from django.contrib.auth.models import Group

from core.roles import ADMINISTRATOR, OPERATOR, VIEWER

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def make_user(db, django_user_model):
    def make(username: str, role: str | None = VIEWER):
        user = django_user_model.objects.create_user(username=username, password=PASSWORD)
        if role:
            user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def viewer(make_user):
    return make_user("vera", VIEWER)


@pytest.fixture
def operator(make_user):
    return make_user("otto", OPERATOR)


@pytest.fixture
def administrator(make_user):
    return make_user("ada", ADMINISTRATOR)


def _client_for(client_class, user):
    client = client_class()
    client.force_login(user)
    return client


@pytest.fixture
def viewer_client(viewer):
    from django.test import Client

    return _client_for(Client, viewer)


@pytest.fixture
def operator_client(operator):
    from django.test import Client

    return _client_for(Client, operator)


@pytest.fixture
def admin_client_ferry(administrator):
    """A client logged in as a member of the administrator group (not a Django superuser)."""
    from django.test import Client

    return _client_for(Client, administrator)


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """A channel layer per test. Each test's websockets run on an event loop of their own, and a
    Redis layer's receive lock belongs to the loop that first waited on it: one left held by the
    previous test's doorbell listener would fail every receive of the next test."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def pytest_collection_modifyitems(config, items):
    """FERRY_DATABASE_TESTS_ONLY=1 (CI's production-shape run) keeps only the tests that reach the
    database: the rest cannot behave differently on PostgreSQL and Redis, and the embedded run, which
    runs everything, covers them."""
    if os.environ.get("FERRY_DATABASE_TESTS_ONLY") != "1":
        return
    keep, drop = [], []
    for item in items:
        uses_database = item.get_closest_marker("django_db") or "_django_db_helper" in getattr(item, "fixturenames", ())
        (keep if uses_database else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
