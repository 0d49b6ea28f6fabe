"""The re-check before a node leaves, on what the cluster reports now: its nodes and its witness."""
from fabric.nodeops.live import LiveCluster, live_quorum_problem


def test_the_live_witness_counts_and_an_unreadable_one_is_named_in_the_refusal():
    two = {"N1": "Up", "N2": "Up"}
    assert live_quorum_problem(LiveCluster(nodes=two, vms=[], hosts={}, witness=True), "N1") is None
    refused = live_quorum_problem(LiveCluster(nodes=two, vms=[], hosts={}, quorum_error="RPC timeout"), "N1")
    assert refused.startswith("Quorum would be lost while N1 is out: 1 of 2 nodes would be up")
    assert refused.endswith("(the witness could not be read: RPC timeout)")
    assert live_quorum_problem(LiveCluster(nodes=two, vms=[], hosts={}), "N1").endswith("would keep 2 of 3 votes")
