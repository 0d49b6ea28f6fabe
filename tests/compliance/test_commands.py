"""The command line: names resolved or refused clearly, dry runs, refusals with a non-zero exit."""
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from compliance.models import Baseline, BaselineAssignment
from jobs.models import Job
from tests import factories as f

pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_assign_baseline_by_names_and_refusals():
    prod = f.group("Production")
    f.cluster("HVC1", host_group=prod, nodes=2)
    Baseline.objects.create(name="Security")
    assert "Assigned Security → cluster HVC1 (2 hosts)" in run("assign_baseline", "security", "HVC1")
    assert "Already assigned" in run("assign_baseline", "Security", "cluster:HVC1")
    assert "host group All Hosts › Production" in run("assign_baseline", "Security", "All Hosts/Production")
    with pytest.raises(CommandError, match="No baseline named 'Nope'"):
        run("assign_baseline", "Nope", "HVC1")
    with pytest.raises(CommandError, match="No cluster, host or host group is named 'HVC9'"):
        run("assign_baseline", "Security", "HVC9")
    f.group("HVC1")  # a group with a cluster's name: the command asks which
    with pytest.raises(CommandError, match="more than one thing; say which: cluster:HVC1, hostgroup:HVC1"):
        run("assign_baseline", "Security", "HVC1")
    assert "Removed Security" in run("assign_baseline", "Security", "cluster:HVC1", "--remove")
    assert BaselineAssignment.objects.count() == 1


def test_remediate_dry_run_prints_the_plan_and_starts_nothing():
    f.scanned_cluster(compliant=("HVC1-N2",))
    out = run("remediate", "HVC1", "--dry-run")
    assert "HVC1-N2: skipped (already compliant)" in out
    assert "HVC1-N1-VM0→" in out and "Dry run: nothing was started." in out
    assert not Job.objects.exists()


def test_remediate_refuses_with_the_reason_and_a_non_zero_exit():
    clu = f.scanned_cluster(nodes=2, vms_per_node=1)
    node = clu.nodes.get(name="HVC1-N2")
    node.node_state = "Paused"
    node.save()
    with pytest.raises(CommandError, match="HVC1-N2 is Paused"):
        run("remediate", "HVC1")
    assert not Job.objects.exists()
    with pytest.raises(CommandError, match="not a host group"):
        run("remediate", "All Hosts")


def test_remediate_starts_one_job_with_the_chosen_options():
    clu = f.scanned_cluster(nodes=3)
    out = run("remediate", "HVC1", "--save-state", "--no-restart", "--max-failed-nodes", "1", "--retries", "2")
    job = Job.objects.get()
    assert f"Started: job #{job.pk}" in out
    assert job.params["options"]["save_state"] and job.params["options"]["no_restart"]
    assert job.failure_policy == {"max_retries_per_node": 2, "max_failed_nodes": 1}
    assert "already has an active job" in run("remediate", "cluster:HVC1")
    assert Job.objects.count() == 1 and job.lock_key == f"cluster:{clu.pk}"


def test_scan_without_baselines_says_so():
    f.host("HV1")
    with pytest.raises(CommandError, match="no host there has a baseline assigned"):
        run("scan", "HV1")
