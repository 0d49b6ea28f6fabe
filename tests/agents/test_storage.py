"""The storage agents against the lab: moving a SOFS role and a CSV, reading storage jobs, virtual
disks and CSV states, and the storage-health summary a rolling operation waits on."""
import pytest

from fabric import agents
from tests.agents.conftest import connection
from tests.lab.waiting import reachable, until

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def lab():
    from lab.testing import LabProcess

    with LabProcess("tests", speed=100) as running:
        yield running
        running.assert_invariants_held()      # no share went unavailable: roles moved before restarts


def test_a_healthy_s2d_cluster(lab):
    health = agents.storage.storage_health(connection(lab, "TFS19"))
    assert health.healthy and health.summary() == "storage healthy"
    assert [(d.friendly_name, d.health_status, d.operational_status) for d in health.virtual_disks] == [
        ("Cluster Disk 1", "Healthy", ("OK",))]
    assert [v.state for v in health.volumes] == ["Online"] and health.jobs == ()


def test_a_cluster_without_storage_spaces_counts_only_its_volumes(lab):
    health = agents.storage.storage_health(connection(lab, "TCL19"))
    assert health.healthy and health.virtual_disks == () and health.volumes


def test_move_role_and_volume_then_watch_the_resync_after_a_restart(lab):
    cluster = connection(lab, "TFS19")
    group = agents.cluster.move_cluster_group(cluster, "TSOFS", "TF19-N2")
    assert (group.owner_node, group.state, group.group_type) == ("TF19-N2", "Online", "ScaleoutFileServer")
    assert agents.cluster.move_cluster_group(cluster, "TSOFS", "TF19-N2").owner_node == "TF19-N2"   # no-op
    assert agents.storage.move_cluster_shared_volume(cluster, "Cluster Disk 1", "TF19-N2").owner_node == "TF19-N2"

    lab.run_ps("TF19-N1", "Restart-Computer -Force")
    until(lambda: not reachable(lab, "TF19-N1"), what="TF19-N1 going down")
    degraded = agents.storage.get_virtual_disks(connection(lab, "TF19-N2"))
    assert [(d.health_status, d.operational_status) for d in degraded] == [("Warning", ("Degraded",))]
    until(lambda: reachable(lab, "TF19-N1"), timeout=30, what="TF19-N1 back")

    health = agents.storage.storage_health(cluster)
    assert not health.healthy
    assert [(j.name, j.state, j.is_background_task) for j in health.running_jobs] == [("Repair", "Running", True)]
    assert "Repair job" in health.summary() and "virtual disk Cluster Disk 1 Warning/InService" in health.summary()
    until(lambda: agents.storage.storage_health(cluster).healthy, timeout=30, what="the resync")
    jobs = agents.storage.get_storage_jobs(cluster)
    assert [(j.state, j.percent_complete, j.running) for j in jobs] == [("Completed", 100, False)]


def test_moving_a_missing_role_is_not_found(lab):
    with pytest.raises(agents.NotFound):
        agents.cluster.move_cluster_group(connection(lab, "TFS19"), "NoSuchRole", "TF19-N1")
