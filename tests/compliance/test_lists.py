"""The compliance lists (Updates, Baselines, Update servers) as an operator uses them: sorted,
counted, filtered by labelled controls, and exported as CSV with the same filters."""
import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from compliance.models import Baseline, UpdateServer
from tests import factories as f

pytestmark = pytest.mark.django_db


def rows_of_csv(response):
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.fixture
def catalog():
    f.update(5000001, severity="Critical", released=dt.date(2024, 1, 9))
    f.update(5000002, severity="Important", released=dt.date(2024, 3, 12))
    f.update(5000003, classification="Updates", severity="", released=dt.date(2024, 2, 13), reboot_required=False)
    f.update(5000004, severity="Low", released=dt.date(2023, 12, 12), superseded=True)


def kb_column(client, **params):
    """The KB numbers of the Updates page, top to bottom, read from its CSV export of the same view."""
    rows = rows_of_csv(client.get(reverse("compliance:update_list"), {**params, "_export": "csv"}))
    return [row[0] for row in rows[1:]]


def test_updates_page_counts_sorts_and_has_a_labelled_severity_filter(viewer_client, catalog):
    page = viewer_client.get(reverse("compliance:update_list")).content.decode()
    assert "4 updates" in page
    assert '<label class="filter">Severity <select name="severity"' in page
    assert '<option value="none">Unspecified</option>' in page
    assert '<label class="filter">Classification <select name="classification"' in page
    assert 'href="?sort=severity"' in page  # every column header sorts
    assert "<th" in page and "Released" in page and "May need a restart" in page

    newest_first = kb_column(viewer_client)
    assert newest_first == ["KB5000002", "KB5000003", "KB5000001", "KB5000004"]
    assert kb_column(viewer_client, sort="release_date") == list(reversed(newest_first))
    assert kb_column(viewer_client, sort="kb") == ["KB5000001", "KB5000002", "KB5000003", "KB5000004"]
    sorted_page = viewer_client.get(reverse("compliance:update_list"), {"sort": "-kb"}).content.decode()
    assert sorted_page.index("KB5000004") < sorted_page.index("KB5000001")


def test_updates_filter_by_severity_classification_superseded_and_restart(viewer_client, catalog):
    assert kb_column(viewer_client, severity="Critical") == ["KB5000001"]
    assert kb_column(viewer_client, severity="none") == ["KB5000003"]  # no MSRC severity
    assert kb_column(viewer_client, classification="Updates") == ["KB5000003"]
    assert "KB5000004" not in kb_column(viewer_client, superseded="false")
    assert kb_column(viewer_client, reboot_required="false") == ["KB5000003"]
    assert kb_column(viewer_client, q="kb5000002") == ["KB5000002"]
    page = viewer_client.get(reverse("compliance:update_list"), {"severity": "Critical"}).content.decode()
    assert '<p class="muted count">1 update</p>' in page


def test_updates_with_a_filter_the_page_does_not_know_say_so(viewer_client, catalog):
    response = viewer_client.get(reverse("compliance:update_list"), {"severity": "Catastrophic"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Some filters were not understood" in body and "0 updates" in body


def test_updates_csv_has_the_columns_of_the_page_and_respects_the_filter(viewer_client, catalog):
    rows = rows_of_csv(viewer_client.get(reverse("compliance:update_list"), {"severity": "Low", "_export": "csv"}))
    assert rows[0] == ["Update", "Title", "Classification", "Severity", "Released", "May need a restart",
                       "Status", "Update server"]
    assert rows[1:] == [["KB5000004", "Cumulative update KB5000004", "Security Updates", "Low", "2023-12-12", "Yes",
                         "superseded, approved", "WSUS01"]]


def test_baselines_list_counts_sorts_filters_and_exports(viewer_client, catalog):
    big = Baseline.objects.create(name="Big", rule_enabled=True, rule_classifications=["Security Updates"])
    Baseline.objects.create(name="Small")
    from compliance.models import BaselineUpdate, Update

    for update in Update.objects.all():
        BaselineUpdate.objects.create(baseline=big, update=update)
    page = viewer_client.get(reverse("compliance:baseline_list")).content.decode()
    assert "2 baselines" in page and '<label class="filter">Kept current by rule' in page
    rows = rows_of_csv(
        viewer_client.get(reverse("compliance:baseline_list"), {"_export": "csv", "sort": "update_count"})
    )
    assert rows[0][:3] == ["Name", "Updates", "Kept current by rule"]
    assert [(r[0], r[1]) for r in rows[1:]] == [("Small", "0"), ("Big", "4")]
    by_rule = rows_of_csv(
        viewer_client.get(reverse("compliance:baseline_list"), {"_export": "csv", "rule_enabled": "true"})
    )
    assert [r[0] for r in by_rule[1:]] == ["Big"]
    modified = by_rule[1][4]  # exported in UTC, ISO 8601
    assert modified.endswith("Z") and dt.datetime.fromisoformat(modified) == big.modified


def test_update_servers_list_shows_last_sync_as_a_local_time_and_exports(viewer_client, operator_client, catalog):
    synced = timezone.now() - dt.timedelta(minutes=8)
    UpdateServer.objects.filter(name="WSUS01").update(last_synced=synced)
    UpdateServer.objects.create(name="WSUS02", address="wsus02.contoso.com")
    page = viewer_client.get(reverse("compliance:updateserver_list")).content.decode()
    assert "2 update servers" in page and "never" in page
    iso = synced.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    assert f'<time datetime="{iso}" data-style="datetime"' in page and " UTC</time>" in page
    assert "Synchronize</button>" not in page  # a viewer starts no job
    assert "Synchronize</button>" in operator_client.get(reverse("compliance:updateserver_list")).content.decode()
    rows = rows_of_csv(viewer_client.get(reverse("compliance:updateserver_list"), {"_export": "csv", "q": "wsus01"}))
    assert rows[0] == ["Name", "Address", "WSUS port", "SSL", "Updates", "Last synchronized"]
    assert rows[1] == ["WSUS01", "wsus01.contoso.com", "8530", "No", "4", iso]


def test_lists_refuse_their_csv_to_whoever_may_not_see_them(client, make_user, catalog):
    client.force_login(make_user("nobody", role=None))
    for name in ("compliance:update_list", "compliance:baseline_list", "compliance:updateserver_list"):
        response = client.get(reverse(name), {"_export": "csv"})
        assert response.status_code == 403 and b"KB500" not in response.content
    client.logout()
    response = client.get(reverse("compliance:update_list"), {"_export": "csv"})
    assert response.status_code == 302 and response.url.startswith("/login/")
