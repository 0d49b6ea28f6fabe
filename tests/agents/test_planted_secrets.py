"""A Run As password planted in the inventory appears nowhere Ferry writes or shows: not in the
pages, not in the websocket frames of its job, not in the logs, not in the job log, and not in
the database except as ciphertext. Through the lab, for a discovery that succeeds and one that is
refused the credentials."""
import logging

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Group
from django.test import Client

from core.roles import ROLES
from fabric.inventory.jobs import submit_discovery
from fabric.models import RunAsAccount
from jobs.engine.runner import run_job
from tests.agents.conftest import https_target
from tests.helpers import database_text

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.lab]

PLANTED = "Planted-Wrong-Passw0rd-91c2"


def frames(job, user) -> str:
    from config.asgi import application

    client = Client()
    client.force_login(user)
    cookie = (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())

    async def read():
        ws = WebsocketCommunicator(application, f"/ws/jobs/{job.pk}/", headers=[(b"origin", b"http://testserver"),
                                                                               cookie])
        assert (await ws.connect())[0]
        text = await ws.receive_from(timeout=5)
        await ws.disconnect()
        return text

    return async_to_sync(read)()


def test_no_run_as_password_leaks_from_a_discovery_job(lab, lab_run_as, make_user, caplog):
    for role in ROLES:
        Group.objects.get_or_create(name=role)
    real_password = lab_run_as.password
    wrong = RunAsAccount.objects.create(name="Planted", username=lab_run_as.username, password=PLANTED)
    admin = make_user("ada", "administrator")
    target = https_target(lab, "A19-N1")
    params = {"address": target["address"], "port": target["port"], "https": True, "transport": "ntlm",
              "ca_path": target["ca_path"], "allow_insecure": False, "kind": "hyperv"}
    basic = dict(https_target(lab, "A-SA1"), transport="basic", allow_insecure=True)

    with caplog.at_level(logging.DEBUG):
        good, _ = submit_discovery("cluster", dict(params, run_as_id=lab_run_as.pk), user=admin)
        run_job(good.pk)
        refused, _ = submit_discovery("host", dict(basic, run_as_id=wrong.pk), user=admin)
        run_job(refused.pk)
    good.refresh_from_db()
    refused.refresh_from_db()
    assert good.status == "succeeded", good.error
    assert refused.status == "failed"

    client = Client()
    client.force_login(admin)
    shown = [client.get(url).content.decode() for url in (
        good.get_absolute_url(), refused.get_absolute_url(), "/jobs/", "/fabric/servers/", "/fabric/runas/",
        f"/fabric/runas/{wrong.pk}/edit/", "/fabric/audit/")]
    shown += [frames(good, admin), frames(refused, admin)]
    stored = database_text()
    for secret in (real_password, PLANTED):
        assert all(secret not in text for text in shown)
        assert secret not in caplog.text
        assert secret not in stored  # job logs and step messages included; Run As rows hold ciphertext
    assert "rejected the credentials" in refused.error or refused.steps.filter(message__contains="rejected").exists()
