"""The rolling upgrade's quorum prerequisite on a 2-node cluster: what the witness changes, without
machines (the lab tests cover the job's own live check)."""
import pytest

from fabric.models import Cluster
from tests import factories
from upgrades.request import NodeSettings, UpgradeRequest
from upgrades.rolling import check_prerequisites

pytestmark = pytest.mark.django_db


def quorum_verdict(cluster, **kwargs):
    nodes = [NodeSettings(host_id=h.pk, bmc_address="192.0.2.10") for h in cluster.nodes.order_by("name")]
    request = UpgradeRequest(cluster_id=cluster.pk, profile_id=0, bmc_run_as_id=0, image_id=None, nodes=nodes)
    return next(v for v in check_prerequisites(request, **kwargs) if v.name == "quorum")


def test_a_two_node_cluster_with_a_witness_may_be_upgraded_one_without_may_not():
    cluster = factories.cluster("BRANCH", nodes=2)
    refused = quorum_verdict(cluster)   # no witness read yet: counted as none
    assert not refused.ok
    assert "Quorum would be lost while BRANCH-N1 is out: 1 of 2 nodes would be up" in refused.message
    Cluster.objects.filter(pk=cluster.pk).update(witness_kind="file_share", witness_name="File Share Witness",
                                                 witness_state="Online")
    cluster.refresh_from_db()
    holds = quorum_verdict(cluster)
    assert holds.ok and holds.message == "Quorum holds while BRANCH-N1 is out: 2 of 3 votes with the witness."
    # the job's first step passes what it read from the cluster now, which wins over the record
    assert not quorum_verdict(cluster, witness=False).ok
