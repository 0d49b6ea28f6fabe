"""One pager for every paged page: it keeps the filters and sorting, marks the current page, and
asks htmx to swap only the results where the page has them."""
import re

import pytest
from django.urls import reverse

from compliance.models import Update, UpdateServer
from core.audit import AuditAction, record

pytestmark = pytest.mark.django_db

LINK = re.compile(r'<a href="([^"]+)"( rel="(?:prev|next)")?( hx-get="[^"]+" hx-target="([^"]+)")?')


def pager(html: str) -> str:
    found = re.search(r'<nav class="pager" aria-label="Pages">(.*?)</nav>', html, re.S)
    assert found, "the page has no pager"
    return found.group(1)


def test_a_table_pages_with_its_filters_kept_and_only_its_results_swapped(viewer_client, viewer):
    for n in range(60):
        record(None, AuditAction.ACTION, None, f"entry {n}", user=viewer, object_type="host", object_repr=f"hv{n:02}")
    response = viewer_client.get(reverse("fabric:audit_list"), {"object_type": "host", "sort": "object_repr"})
    nav = pager(response.content.decode())
    assert '<li class="active" aria-current="page"><span>1</span></li>' in nav
    links = {href.replace("&amp;", "&"): target for href, _, _, target in LINK.findall(nav)}
    second = next(href for href in links if "page=2" in href)
    assert "object_type=host" in second and "sort=object_repr" in second
    assert links[second] == "closest .results"
    page2 = viewer_client.get(reverse("fabric:audit_list") + second).content.decode()
    assert "hv50" in page2 and "hv00" not in page2  # sorted by object, the second page holds the last ten


def test_the_update_catalog_pages_keeping_its_filters(viewer_client):
    server = UpdateServer.objects.create(name="wsus", address="wsus.contoso.com")
    Update.objects.bulk_create([
        Update(server=server, update_id=f"00000000-0000-0000-0000-{n:012}", kb=str(5000000 + n), title=f"Update {n}",
               classification="Security Updates", in_catalog=True)
        for n in range(120)
    ])
    nav = pager(viewer_client.get(reverse("compliance:update_list"), {"classification": "Security Updates"})
                .content.decode())
    links = LINK.findall(nav)
    assert links and all(target == "closest .results" for _, _, _, target in links)
    assert any("classification=Security+Updates" in href and "page=2" in href for href, *_ in links)


def test_one_page_needs_no_pager(viewer_client):
    assert 'class="pager"' not in viewer_client.get(reverse("fabric:audit_list")).content.decode()
