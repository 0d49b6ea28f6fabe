"""Reading PowerShell 5.1 output: enums as numbers or names, both date forms, one object or many."""
from datetime import datetime, timezone

import pytest

from fabric.agents.cluster import ClusterQuorum
from fabric.agents.errors import BadOutput
from fabric.agents.parsing import CLUSTER_NODE_STATE, VM_STATE, Reader, parse_date
from fabric.inventory.store import witness_kind


def test_enum_accepts_number_or_name():
    r = Reader("Get-ClusterNode", "hv01:5986")
    assert r.enum({"State": 2}, "State", CLUSTER_NODE_STATE) == "Paused"
    assert r.enum({"State": "paused"}, "State", CLUSTER_NODE_STATE) == "Paused"
    assert r.enum({"State": "2"}, "State", CLUSTER_NODE_STATE) == "Paused"
    assert r.enum({"State": 32773}, "State", VM_STATE) == "Saving"


@pytest.mark.parametrize("quorum, kind", [
    (ClusterQuorum("Majority"), "none"),
    (ClusterQuorum("Majority", "Cluster Disk 2", "Physical Disk", "Online"), "disk"),
    (ClusterQuorum("Majority", "File Share Witness", "File Share Witness", "Online"), "file_share"),
    (ClusterQuorum("Majority", "Cloud Witness", "Cloud Witness", "Failed"), "cloud"),
    (ClusterQuorum("Majority", "Quorum", "Some Vendor Witness", "Online"), "other"),
    (ClusterQuorum("DiskOnly", "Cluster Disk 1", "Physical Disk", "Online"), "disk_only"),
    (ClusterQuorum("Unknown"), ""),
    (None, ""),
])
def test_the_witness_as_the_inventory_keeps_it(quorum, kind):
    assert witness_kind(quorum) == kind
    # only a node-majority witness that is online adds a vote
    assert bool(quorum and quorum.witness_votes) == (kind in ("disk", "file_share", "other"))


def test_dates_in_both_forms():
    expected = datetime(2012, 1, 13, tzinfo=timezone.utc)
    assert parse_date("/Date(1326412800000)/") == expected
    assert parse_date("2012-01-13T00:00:00.0000000Z") == expected
    assert parse_date("2012-01-13T01:00:00.0000000+01:00") == expected


def test_one_object_counts_as_a_list_and_shapes_are_checked():
    r = Reader("Get-VM", "hv01:5986")
    assert r.records({"Name": "a"}) == [{"Name": "a"}]
    assert r.records(None) == []
    with pytest.raises(BadOutput) as info:
        r.records("garbage")
    assert "Get-VM" in str(info.value) and "hv01" in str(info.value)
    with pytest.raises(BadOutput, match="MemoryAssigned"):
        r.get({"MemoryAssigned": "lots"}, "MemoryAssigned", int)
    with pytest.raises(BadOutput, match="Name is missing"):
        r.get({}, "Name")
