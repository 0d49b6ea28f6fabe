"""Two operators pressing Remediate on one cluster at the same moment get one job."""
import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from jobs.models import Job
from tests import factories as f


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_remediate_requests_give_one_job(make_user):
    from django.contrib.auth.models import Group

    for role in ("viewer", "operator", "administrator"):
        Group.objects.get_or_create(name=role)
    clu = f.scanned_cluster()
    users = [make_user("otto", "operator"), make_user("olga", "operator")]
    options = {"selected": f"cluster:{clu.pk}", "action": "submit", "evacuation": "live", "max_retries_per_node": 3,
               "max_failed_nodes": 0, "reboot_timeout_minutes": 15, "node_order": "fewest_vms"}
    barrier = threading.Barrier(len(users))
    answers = []

    def press(user):
        client = Client()
        client.force_login(user)
        barrier.wait()
        try:
            answers.append(client.post(reverse("compliance:remediate"), options, HTTP_HX_REQUEST="true"))
        finally:
            connection.close()

    threads = [threading.Thread(target=press, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    job = Job.objects.get()
    assert [a.status_code for a in answers] == [200, 200]
    assert {a["HX-Redirect"] for a in answers} == {job.get_absolute_url()}
