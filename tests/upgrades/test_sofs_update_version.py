"""Update Version on a Scale-Out File Server whose nodes were upgraded behind Ferry's back (an
in-place upgrade at each node's console): the file server's page brings Ferry's record in line —
the nodes' new builds — and raises the functional level."""
import time

import pytest
from django.urls import reverse

from core.models import AuditEntry
from fabric.inventory import discover_cluster
from fabric.models import Cluster
from jobs.engine.runner import run_job
from jobs.models import Job
from tests.agents.conftest import https_target

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.lab]

TOPOLOGY = """
[lab]
name = "sofs-update-version"
domain = "contoso.com"
speed = 100.0

[defaults]
memory_gb = 32.0
reboot_seconds = 20.0
shutdown_seconds = 2.0

[[clusters]]
name = "FSV19"
kind = "sofs"
witness = true
sofs_roles = ["FSVSOFS"]
csvs = [{ name = "Cluster Disk 1" }]

[[clusters.nodes]]
name = "FSV-N1"
os = "2019"

[[clusters.nodes]]
name = "FSV-N2"
os = "2019"
"""


@pytest.fixture
def lab(db):
    from django.contrib.auth.models import Group

    from core.roles import ADMINISTRATOR, OPERATOR, VIEWER
    from lab.testing import LabProcess

    for role in (VIEWER, OPERATOR, ADMINISTRATOR):
        Group.objects.get_or_create(name=role)
    with LabProcess(topology_text=TOPOLOGY, speed=100.0) as running:
        yield running
        running.assert_invariants_held()


def _upgrade_at_the_console(lab, name: str) -> None:
    lab.os_upgrade(name, "2022")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        host = next(h for h in lab.state()["hosts"] if h["name"] == name)
        if host["os"]["build"] == 20348 and host["os_state"] == "running":
            return
        time.sleep(0.1)
    raise AssertionError(f"{name} did not come back on 2022")


def test_update_version_on_a_file_server_upgraded_behind_ferrys_back(lab, operator_client, viewer_client):
    from fabric.models import RunAsAccount

    winrm = lab.entry("FSV19")["winrm"]
    run_as = RunAsAccount.objects.create(name="Lab WinRM", username=winrm["username"], password=winrm["password"])
    cluster = discover_cluster(run_as=run_as, **https_target(lab, "FSV19"))
    assert cluster.kind == "sofs" and cluster.functional_level == 10
    page = reverse("fabric:fileserver_detail", args=[cluster.pk])
    assert "Update Version" not in viewer_client.get(page).content.decode()       # operators only
    html = operator_client.get(page).content.decode()
    assert 'id="update-version-refresh"' in html and "Upgrade Cluster" in html

    for name in ("FSV-N1", "FSV-N2"):
        _upgrade_at_the_console(lab, name)
    assert set(cluster.nodes.values_list("os_build", flat=True)) == {17763}    # Ferry's record is behind

    response = operator_client.post(reverse("upgrades:update_version", args=[cluster.pk]))
    job = Job.objects.get(kind="update_version")
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    assert set(cluster.nodes.values_list("os_build", flat=True)) == {20348}    # the refresh read the new builds
    assert AuditEntry.objects.filter(detail__startswith="refreshed for Update Version: functional level 10, "
                                                        "builds FSV-N1 20348, FSV-N2 20348").exists()
    assert AuditEntry.objects.filter(detail__contains="from functional level 10 to 11", username="otto").exists()

    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    cluster = Cluster.objects.get(pk=cluster.pk)
    assert cluster.functional_level == 11 and cluster.mixed_mode_since is None
    assert lab.run_json("FSV-N2", "(Get-Cluster).ClusterFunctionalLevel | ConvertTo-Json") == 11
    html = operator_client.get(page).content.decode()
    assert "Windows Server 2022" in html and "(20348)" in html and "(17763)" not in html
    assert "<dt>Functional level</dt><dd>11" in html


def test_update_version_on_a_file_server_from_the_command_line_refuses_a_node_on_the_old_release(lab):
    from io import StringIO

    from django.core.management import CommandError, call_command

    from fabric.models import RunAsAccount

    winrm = lab.entry("FSV19")["winrm"]
    run_as = RunAsAccount.objects.create(name="Lab WinRM", username=winrm["username"], password=winrm["password"])
    discover_cluster(run_as=run_as, **https_target(lab, "FSV19"))
    _upgrade_at_the_console(lab, "FSV-N1")
    out = StringIO()
    with pytest.raises(CommandError, match="FSV-N2 does not"):
        call_command("update_version", "fsv19", stdout=out)
    assert "FSV-N1 20348, FSV-N2 17763" in out.getvalue()           # the record was brought in line
    assert not Job.objects.exists()
    with pytest.raises(CommandError, match="No Hyper-V cluster or Scale-Out File Server"):
        call_command("update_version", "NOPE", stdout=StringIO())
