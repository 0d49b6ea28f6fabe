"""The API against the lab, as a script uses it: scan, then the README's example remediates the
cluster and follows the job to its end, over HTTP with a token and nothing else. A worker thread
runs the jobs, as a qcluster would."""
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db import connection

from api.serializers import UpgradePlanSerializer
from core.models import AuditEntry
from jobs.choices import ACTIVE
from jobs.models import Job
from tests.compliance.conftest import _compliance_lab
from tests.compliance.labenv import bring_in
from tests.upgrades.test_wizard_lab import wizard_lab  # noqa: F401  (the upgrade lab)

from .conftest import Api, token_for

pytestmark = [pytest.mark.lab, pytest.mark.slow]
TOPOLOGY = Path(__file__).resolve().parent / "lab" / "api.toml"
README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def lab(transactional_db, settings, monkeypatch):
    yield from _compliance_lab(TOPOLOGY, settings, monkeypatch)


class Worker(threading.Thread):
    """Runs every active job in this process, as a qcluster worker would."""

    def __init__(self):
        super().__init__(name="api-test-worker", daemon=True)
        self.stop = threading.Event()

    def run(self):
        from jobs.engine.runner import run_job

        try:
            while not self.stop.wait(0.05):
                for pk in Job.objects.filter(status__in=ACTIVE).values_list("pk", flat=True):
                    run_job(pk)
        finally:
            connection.close()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.join(30)


def readme_example(name: str) -> str:
    text = README.read_text()
    block = re.search(rf"<!-- example: {name} -->\n```python\n(.*?)```", text, re.S)
    assert block, f"README has no example {name}"
    return block.group(1)


def follow(api, job_id):
    import time

    for _ in range(2400):
        job = api.get(f"/api/jobs/{job_id}/").json()
        if job["status"] not in ACTIVE:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job #{job_id} did not end")


def test_scan_then_remediate_and_follow_with_the_readme_example(lab, live_server, operator):
    cluster, _, _ = bring_in(lab, cluster="ACL", standalone=None)
    token = token_for(operator)
    api = Api(token, REMOTE_ADDR="198.51.100.7")
    with Worker():
        scan = api.post("/api/compliance/scan/", {"cluster": cluster.pk})
        assert scan.status_code == 201, scan.content
        assert follow(api, scan.json()["id"])["status"] == "succeeded"
        states = {r["host"]: r["state"] for r in api.get("/api/compliance/", cluster=cluster.pk).json()["results"]}
        assert states == {"A-N1": "non_compliant", "A-N2": "compliant", "A-N3": "compliant"}

        env = {**os.environ, "FERRY_URL": live_server.url, "FERRY_TOKEN": token, "FERRY_CLUSTER": "acl",
               "FERRY_POLL_SECONDS": "0.2"}
        script = subprocess.run([sys.executable, "-c", readme_example("remediate")], env=env, capture_output=True,
                                text=True, timeout=300)
    out = script.stdout
    assert script.returncode == 0, out + script.stderr
    assert re.search(r"^A-N1: remediate a-app1 → A-N\d, a-app2 → A-N\d", out, re.M), out
    assert "A-N2: skip: already compliant" in out and "[succeeded] Pause A-N1 and live-migrate its VMs" in out
    assert re.search(r"^Job #\d+ succeeded", out, re.M)

    states = {r["host"]: r["state"] for r in api.get("/api/compliance/", cluster=cluster.pk).json()["results"]}
    assert set(states.values()) == {"compliant"}
    vms = {v["name"]: (v["state"], v["host"]) for v in lab.state()["vms"]}
    assert vms == {"a-app1": ("Running", "A-N1"), "a-app2": ("Running", "A-N1"), "a-db1": ("Running", "A-N2")}
    nodes = {n["name"]: n["state"] for c in lab.state()["clusters"] for n in c["nodes"]}
    assert set(nodes.values()) == {"Up"}
    job = Job.objects.get(kind="remediation")
    assert job.requested_by == operator
    assert AuditEntry.objects.filter(object_id=str(job.pk), username="otto",
                                     detail__startswith="remediation requested through the API").count() == 1


@pytest.mark.django_db(transaction=True)
def test_upgrade_through_the_api_dry_run_then_submit(wizard_lab, operator):
    from tests.upgrades.test_wizard_lab import bring_in as bring_in_upgrade

    cluster, profile, bmc_run_as = bring_in_upgrade(wizard_lab)
    api = Api(token_for(operator), REMOTE_ADDR="198.51.100.8")
    url = f"/api/clusters/{cluster.pk}/upgrade/"
    base = {"profile": profile.name, "bmc_run_as": bmc_run_as.name, "nodes": ["WZ-N1"], "functional_level": False}

    wrong = api.post(url, dict(base, node_settings={"WZ-N1": {"colour": "blue"}}))
    assert wrong.status_code == 400 and "WZ-N1: unknown setting(s) colour" in wrong.json()["detail"]
    assert api.post(url, dict(base, profile="nope")).json() == {
        "detail": "No physical computer profile is named 'nope'."}

    dry = api.post(url, dict(base, dry_run=True))
    assert dry.status_code == 200, dry.content
    plan = dry.json()
    assert plan["ok"] and plan["target"] == "Windows Server 2022" and [n["name"] for n in plan["nodes"]] == ["WZ-N1"]
    assert set(plan) == set(UpgradePlanSerializer().fields)  # the answer is what the schema says
    assert any("The BMC of WZ-N1 answers" in v["message"] for v in plan["verdicts"]), plan["verdicts"]
    assert not Job.objects.exists()

    wizard_lab.fault("bmc_unresponsive", host="WZ-N1")  # a prerequisite fails: refused, nothing saved
    refused = api.post(url, base)
    assert refused.status_code == 409 and "The BMC of WZ-N1 does not answer" in refused.json()["detail"]
    assert not Job.objects.exists()
    wizard_lab.clear_faults()

    started = api.post(url, base)
    assert started.status_code == 201, started.content
    job = Job.objects.get(pk=started.json()["id"])
    assert job.kind == "rolling_upgrade" and job.requested_by == operator
    assert {"WZ-N1"} == set(job.steps.filter(is_group=True).values_list("title", flat=True))
    row = AuditEntry.objects.get(detail__startswith="rolling upgrade requested through the API")
    assert (row.username, row.source_address, row.object_id) == ("otto", "198.51.100.8", str(job.pk))
    again = api.post(url, base)
    assert again.status_code == 409 and again.json()["job"]["id"] == job.pk
