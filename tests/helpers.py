"""Helpers shared by Ferry's tests."""
import os
import shutil

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
