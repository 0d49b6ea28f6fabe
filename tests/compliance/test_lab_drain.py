"""Against the lab: where memory is tight, the cluster's own drain (Suspend-ClusterNode -Drain, each
VM to the node with the most free memory when its turn comes) runs into a host without room, while
Ferry's evacuation of the same node (its plan places the largest VM first) moves every VM without a
single migration refused for want of memory."""
import pytest

from compliance.orchestration import submit_cluster_remediation
from compliance.remediation import RemediationOptions
from fabric import agents
from fabric.nodeops.live import cluster_connection

from .labenv import bring_in, describe, finish, scan_all

pytestmark = [pytest.mark.lab, pytest.mark.slow]
GB = 2**30


@pytest.fixture
def lab_topology(tmp_path):
    """Three 16 GB nodes. TIGHT-N1 runs 4, 4 and 8 GB VMs in that order; the others have 8 GB free."""
    from lab.generate import remediation_topology, render

    data = remediation_topology(3, 1, node_memory_gb=16.0, vm_memory_gb=4.0, updates=1)
    data["defaults"]["https"] = True
    cluster = data["clusters"][0]
    cluster["name"] = "TIGHT"
    for n, node in enumerate(cluster["nodes"], 1):
        node["name"] = f"TIGHT-N{n}"
        node["missing_updates"] = [data["updates"][0]["kb"]] if n == 1 else []
    cluster["vms"] = [{"name": name, "owner": owner, "memory_gb": size} for name, owner, size in (
        ("tight-a", "TIGHT-N1", 4.0), ("tight-b", "TIGHT-N1", 4.0), ("tight-c", "TIGHT-N1", 8.0),
        ("tight-x", "TIGHT-N2", 8.0), ("tight-y", "TIGHT-N3", 8.0))]
    data["update_server"]["name"] = "TIGHT-WSUS"
    path = tmp_path / "tight.toml"
    path.write_text(render(data))
    return path


def refused(events) -> list[str]:
    return [e["vm"] for e in events if e["event"] == "migration-refused"]


def running_on(lab, node) -> set[str]:
    return {vm["name"] for vm in lab.state()["vms"] if vm["host"] == node and vm["state"] == "Running"}


def test_ferry_evacuates_without_over_commit_where_the_drain_is_refused(lab):
    cluster, _, _ = bring_in(lab, cluster="TIGHT", standalone=None)
    scan_all()

    seen = len(lab.events())
    conn = cluster_connection(cluster, avoid="TIGHT-N1")
    with pytest.raises(agents.AgentError, match="DrainStatus Failed.*tight-c"):
        agents.cluster.suspend_node(conn, "TIGHT-N1", drain=True)
    assert refused(lab.events()[seen:]) == ["tight-c"]
    assert running_on(lab, "TIGHT-N1") == {"tight-c"}  # the drain failed; no host was over-committed
    agents.cluster.resume_node(conn, "TIGHT-N1", failback="Immediate")
    assert running_on(lab, "TIGHT-N1") == {"tight-a", "tight-b", "tight-c"}

    seen = len(lab.events())
    job = finish(submit_cluster_remediation(cluster, RemediationOptions())[0])
    assert job.status == "succeeded", describe(job)
    ferry = lab.events()[seen:]
    moved_off = {e["vm"] for e in ferry if e["event"] == "migration-finished" and e["source"] == "TIGHT-N1"}
    assert moved_off == {"tight-a", "tight-b", "tight-c"}
    assert refused(ferry) == []
    assert running_on(lab, "TIGHT-N1") == {"tight-a", "tight-b", "tight-c"}  # and back where they were
