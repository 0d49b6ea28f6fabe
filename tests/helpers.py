"""Helpers shared by Ferry's tests."""
import os
import shutil
import time

import pytest

REQUIRE_ALL = os.environ.get("FERRY_REQUIRE_ALL") == "1"


def require(available: bool, reason: str) -> None:
    """Skip the calling test when a system package or service is missing.

    In CI (FERRY_REQUIRE_ALL=1) a missing dependency is a failure, never a skip.
    """
    if available:
        return
    if REQUIRE_ALL:
        pytest.fail(f"FERRY_REQUIRE_ALL=1 but {reason}")
    pytest.skip(reason)


def require_binary(name: str) -> str:
    path = shutil.which(name)
    require(path is not None, f"{name} is not installed (apt-get install {name})")
    return path


def wait_for(predicate, what: str, timeout: float = 30.0, *, interval: float = 0.05, ignore=(), detail=None):
    """Ask `predicate` again until it answers something true, and return that answer.

    Each try sees the database afresh (outside a test's transaction). Exceptions of the types in
    `ignore` count as "not yet" (a machine that is restarting refuses connections). After `timeout`
    seconds the test fails naming `what`, followed by `detail()` when given (a process's log)."""
    from django.db import close_old_connections, connection

    deadline = time.monotonic() + timeout
    while True:
        if not connection.in_atomic_block:
            close_old_connections()
        try:
            value = predicate()
        except ignore:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            extra = f"\n{detail()}" if detail else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}{extra}")
        time.sleep(interval)


def database_text() -> str:
    """Every row of every table as stored (raw SQL: encrypted fields stay ciphertext), to search for
    a planted secret."""
    from django.db import connection

    rows = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            rows += [repr(row) for row in cursor.fetchall()]
    return "\n".join(rows)


# Debian's chromium as root on a machine without a screen or an outside network.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
BROWSER_TIMEOUT_MS = 20_000


def session_cookie(user) -> str:
    """The session id of `user` logged in (to hand to a browser context)."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def logged_in_page(browser, base: str, session: str, timeout_ms: int = BROWSER_TIMEOUT_MS, **context_options):
    """A new page in a new browser context carrying `session` (see session_cookie); `context_options`
    go to Playwright's new_context (e.g. timezone_id)."""
    context = browser.new_context(**context_options)
    context.add_cookies([{"name": "sessionid", "value": session, "url": base}])
    page = context.new_page()
    page.set_default_timeout(timeout_ms)
    return page
