"""The command line against the lab, the way an automation script would use it."""
import re
from io import StringIO

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.fixture
def sync_q(monkeypatch):
    """django-q2 in sync mode: a submitted job runs inline, as a worker would run it."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_sync_assign_scan_remediate_and_scan_again(lab, sync_q):
    from fabric.inventory.discovery import add_update_server, discover_cluster
    from fabric.models import RunAsAccount
    from tests.compliance.labenv import _https_port

    node = lab.entry("R-N1")["winrm"]
    run_as = RunAsAccount.objects.create(name="lab", username=node["username"], password=node["password"])
    common = dict(https=True, transport="ntlm", ca_path=lab.endpoints["ca_path"])
    discover_cluster(lab.entry("RCL")["address"], run_as, port=_https_port(lab.entry("RCL")), **common)
    wsus = lab.endpoints["update_server"]
    add_update_server(wsus["address"], run_as, port=_https_port(wsus), wsus_port=wsus["wsus_port"], **common)

    out = run("sync_updates", "--wait")
    assert "Synchronize the catalog of RWSUS: succeeded" in out and "succeeded." in out
    assert "Assigned Sample Baseline for Security Updates → cluster RCL (4 hosts)" in run(
        "assign_baseline", "Sample Baseline for Security Updates", "RCL")
    out = run("scan", "RCL", "--wait")
    assert re.search(r"^R-N1\s+Non Compliant$", out, re.M) and re.search(r"^R-N3\s+Compliant$", out, re.M)
    out = run("remediate", "RCL", "--dry-run")
    assert "R-N3: skipped (already compliant)" in out and "Dry run: nothing was started." in out
    out = run("remediate", "RCL", "--wait")
    assert "Pause R-N1 and live-migrate its VMs: succeeded" in out and "succeeded." in out
    out = run("scan", "RCL", "--wait")
    assert all(re.search(rf"^R-N{i}\s+Compliant$", out, re.M) for i in range(1, 5)), out
