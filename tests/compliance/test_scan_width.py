"""How many hosts a scan job scans at once when nobody set FERRY_SCAN_CONCURRENCY."""
import pytest
from django.db import connection

from compliance.orchestration import SCAN_WIDTH, scan_concurrency

pytestmark = pytest.mark.django_db


def test_the_setting_wins(monkeypatch):
    monkeypatch.setenv("FERRY_SCAN_CONCURRENCY", "7")
    assert scan_concurrency() == 7


def test_the_default_fits_the_database(monkeypatch):
    monkeypatch.delenv("FERRY_SCAN_CONCURRENCY", raising=False)
    width = scan_concurrency()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW max_connections")
            allowed = int(cursor.fetchone()[0])
        assert width == max(32, min(SCAN_WIDTH, allowed // 3))
    else:
        assert width == SCAN_WIDTH
