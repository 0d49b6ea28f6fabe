"""Against the lab: 2-node clusters, as in a branch office. With a witness, one node out leaves 2 of
3 votes, so Ferry remediates them node by node without stopping a VM or a share; without one it
refuses before anything moves — and the job's own check reads the witness from the cluster, not
from the record.

The lab's invariants (quorum kept, no VM lost, no running VM on a paused or down node, no share
unavailable) are checked after every test."""
from pathlib import Path

import pytest

from compliance.choices import ComplianceState
from compliance.models import HostCompliance
from compliance.orchestration import submit_cluster_remediation
from compliance.remediation import RemediationOptions, cluster_dry_run
from fabric.models import Cluster

from .labenv import Watcher, bring_in, describe, finish, scan_all

pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.fixture
def lab_topology():
    return Path(__file__).resolve().parent / "lab" / "witness.toml"


def states(cluster) -> dict:
    return dict(HostCompliance.objects.filter(host__cluster=cluster).values_list("host__name", "state"))


def running_vms(lab, prefix) -> list[str]:
    return sorted(vm["name"] for vm in lab.state()["vms"] if vm["state"] == "Running" and vm["name"].startswith(prefix))


def placement(lab, prefix) -> dict:
    return {vm["name"]: vm["host"] for vm in lab.state()["vms"] if vm["name"].startswith(prefix)}


def lab_nodes(lab, cluster: str) -> dict:
    return {h["name"]: h["node_state"] for h in lab.state()["hosts"] if h["cluster"] == cluster}


def test_a_two_node_cluster_with_a_witness_is_remediated_without_stopping_a_vm(lab):
    cluster, _, _ = bring_in(lab, cluster="BR1", standalone=None)
    assert (cluster.witness_kind, cluster.witness_state, cluster.witness_votes) == ("disk", "Online", True)
    scan_all()
    assert states(cluster) == {"BR1-N1": ComplianceState.NON_COMPLIANT, "BR1-N2": ComplianceState.NON_COMPLIANT}
    dry = cluster_dry_run(cluster, RemediationOptions())
    assert dry.problems == [] and {n.name for n in dry.nodes} == {"BR1-N1", "BR1-N2"}
    running, where = running_vms(lab, "br1-"), placement(lab, "br1-")
    assert running == ["br1-app1", "br1-app2", "br1-db1"]

    job, _ = submit_cluster_remediation(cluster, RemediationOptions())
    with Watcher(lab) as watch:
        job = finish(job)

    assert job.status == "succeeded", describe(job)
    assert set(states(cluster).values()) == {ComplianceState.COMPLIANT}
    assert running_vms(lab, "br1-") == running and placement(lab, "br1-") == where   # all back where they were
    assert watch.not_running(running) == {}   # live-migrated: every VM ran in every sample
    assert watch.paused_nodes() >= {"BR1-N1", "BR1-N2"}
    # never both out at once, and both back Up in their cluster
    assert max(sum(1 for n, s in sample["nodes"].items() if n.startswith("BR1-") and s != "Up")
               for sample in watch.samples) == 1
    assert lab_nodes(lab, "BR1") == {"BR1-N1": "Up", "BR1-N2": "Up"}
    assert next(c for c in lab.state()["clusters"] if c["name"] == "BR1")["quorum"]
    log = [e.message for e in job.log.all()]
    assert any(m.startswith("Quorum holds while BR1-N") and m.endswith(": 2 of 3 votes with the witness.")
               for m in log), log


def test_without_a_witness_the_jobs_own_check_refuses_whatever_the_record_says(lab):
    cluster, _, _ = bring_in(lab, cluster="BR2", standalone=None)
    assert (cluster.witness_kind, cluster.witness_votes) == ("none", False)
    scan_all()
    refused = cluster_dry_run(cluster, RemediationOptions())
    assert any(p.startswith("Quorum would be lost while BR2-N") and "1 of 2 nodes would be up" in p
               for p in refused.problems), refused.problems
    # A record that says "witness" (one removed since the last refresh) does not fool the job: its
    # check before anything moves reads Get-ClusterQuorum from the cluster again.
    Cluster.objects.filter(pk=cluster.pk).update(witness_kind="file_share", witness_name="File Share Witness",
                                                 witness_state="Online")
    cluster.refresh_from_db()
    assert cluster_dry_run(cluster, RemediationOptions()).problems == []
    placed = placement(lab, "br2-")
    job = finish(submit_cluster_remediation(cluster, RemediationOptions())[0])
    assert job.status == "failed", describe(job)
    assert "Refused before anything moved: Quorum would be lost while BR2-N" in job.error
    assert "1 of 2 nodes would be up" in job.error
    assert lab_nodes(lab, "BR2") == {"BR2-N1": "Up", "BR2-N2": "Up"} and placement(lab, "br2-") == placed
    assert set(states(cluster).values()) == {ComplianceState.NON_COMPLIANT}


def test_a_two_node_file_server_with_a_cloud_witness_is_remediated_with_its_share_available(lab):
    file_server, _, _ = bring_in(lab, cluster="BRFS", standalone=None)
    assert (file_server.kind, file_server.witness_kind, file_server.witness_name) == ("sofs", "cloud", "Cloud Witness")
    scan_all()
    job = finish(submit_cluster_remediation(file_server, RemediationOptions())[0])
    assert job.status == "succeeded", describe(job)
    assert states(file_server) == {"BRF-N1": ComplianceState.COMPLIANT, "BRF-N2": ComplianceState.COMPLIANT}
    assert lab_nodes(lab, "BRFS") == {"BRF-N1": "Up", "BRF-N2": "Up"}
    assert [v for v in lab.invariants()["violations"] if v["rule"] in ("share-unavailable", "quorum-lost")] == []
    restarted = sorted(e["host"] for e in lab.events() if e["event"] == "restart-requested")
    assert restarted == ["BRF-N1", "BRF-N2"]


def test_a_witness_that_cannot_be_read_is_not_counted_and_the_job_says_why(lab):
    from fabric.inventory import refresh_cluster

    cluster, _, _ = bring_in(lab, cluster="BR1", standalone=None)
    assert cluster.witness_votes
    scan_all()
    placed = placement(lab, "br1-")
    for node in ("BR1-N1", "BR1-N2"):
        lab.fault("cmdlet_fails", host=node, cmdlet="Get-ClusterQuorum", count=10,
                  message="The quorum query timed out.")
    job = finish(submit_cluster_remediation(cluster, RemediationOptions())[0])
    assert job.status == "failed", describe(job)
    assert "Refused before anything moved" in job.error and "1 of 2 nodes would be up" in job.error
    warnings = [e.message for e in job.log.filter(level="warning")]
    assert any(m.startswith("The quorum configuration could not be read (") and "The quorum query timed out." in m
               and m.endswith("): no witness vote is counted.") for m in warnings), warnings
    assert lab_nodes(lab, "BR1") == {"BR1-N1": "Up", "BR1-N2": "Up"} and placement(lab, "br1-") == placed
    # a refresh that cannot read it forgets the witness it read before, and says so (the cluster
    # reached through a node's address, as when it was added by one)
    Cluster.objects.filter(pk=cluster.pk).update(address=lab.entry("BR1-N1")["address"])
    cluster.refresh_from_db()
    problems = refresh_cluster(cluster)
    assert any("The quorum configuration of BR1 could not be read" in p for p in problems), problems
    cluster.refresh_from_db()
    assert cluster.witness_kind == "" and not cluster.witness_votes
    lab.clear_faults()
    assert refresh_cluster(cluster) == []
    cluster.refresh_from_db()
    assert (cluster.witness_kind, cluster.witness_votes) == ("disk", True)


def test_a_witness_read_that_fails_for_a_moment_is_read_again_and_counted(lab):
    # The same fault as above, clearing after two tries on each node: Ferry's live reading tries
    # again before it counts no witness, so a 2-node cluster is not refused over a moment's error.
    from fabric.nodeops.live import live_quorum_problem, read_live_cluster

    cluster, _, _ = bring_in(lab, cluster="BR1", standalone=None)
    since = len(lab.events())
    faults = [lab.fault("cmdlet_fails", host=node, cmdlet="Get-ClusterQuorum", count=2,
                        message="The quorum query timed out.")["id"] for node in ("BR1-N1", "BR1-N2")]
    live = read_live_cluster(cluster)
    failed = [e for e in lab.events(since) if e["event"] == "cmdlet-failed" and e["fault"] in faults]
    assert len(failed) == 2, failed  # twice on the node asked, then the third reading answered
    assert live.witness and live.quorum_error == ""
    assert live_quorum_problem(live, "BR1-N1") is None and live_quorum_problem(live, "BR1-N2") is None


def test_the_check_before_each_node_leaves_reads_the_witness_again(lab):
    """The plan held when the job started; the witness stops answering while the first node is out.
    The second node stays in: its own check counts no witness it cannot read."""
    import threading
    import time

    from jobs.models import JobStep

    cluster, _, _ = bring_in(lab, cluster="BR1", standalone=None)
    scan_all()
    first = []

    def witness_goes_silent_once_a_node_is_paused():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not first:
            paused = [e for e in lab.events() if e["event"] == "node-paused"]
            if paused:
                for node in ("BR1-N1", "BR1-N2"):
                    lab.fault("cmdlet_fails", host=node, cmdlet="Get-ClusterQuorum", count=50,
                              message="The quorum query timed out.")
                first.append(paused[0].get("node") or paused[0].get("host"))
            time.sleep(0.01)

    watcher = threading.Thread(target=witness_goes_silent_once_a_node_is_paused, daemon=True)
    watcher.start()
    job = finish(submit_cluster_remediation(cluster, RemediationOptions())[0])
    watcher.join(5)
    assert job.status == "failed" and first, describe(job)
    second = ({"BR1-N1", "BR1-N2"} - set(first)).pop()
    step = JobStep.objects.get(job=job, name="compliance.evacuate_node", target=second)
    assert step.status == "failed", describe(job)
    assert f"Quorum would be lost while {second} is out: 1 of 2 nodes would be up" in step.message
    assert "(the witness could not be read: " in step.message and "The quorum query timed out." in step.message
    assert states(cluster) == {first[0]: ComplianceState.COMPLIANT, second: ComplianceState.NON_COMPLIANT}
    assert lab_nodes(lab, "BR1") == {"BR1-N1": "Up", "BR1-N2": "Up"}
    assert running_vms(lab, "br1-") == ["br1-app1", "br1-app2", "br1-db1"]
