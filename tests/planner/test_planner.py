"""The evacuation planner: every VM placed, no host over its memory, refusals explained."""
import random

from fabric.nodeops.planner import (
    GiB,
    PlanHost,
    PlanRefused,
    PlanVM,
    evacuation_lower_bound,
    plan_evacuation,
    plan_rolling,
    quorum_holds_text,
    quorum_problem,
)


def cluster(n=4, memory=64, vms_per_node=5, vm_memory=8):
    hosts = [PlanHost(f"n{i}", memory * GiB) for i in range(1, n + 1)]
    vms = [
        PlanVM(f"vm-{h.name}-{j}", vm_memory * GiB, h.name) for h in hosts for j in range(vms_per_node)
    ]
    return hosts, vms


def test_every_running_vm_gets_a_target_that_is_not_the_node():
    hosts, vms = cluster()
    evacuation = plan_evacuation("n1", hosts, vms)
    moved = {m.vm for m in evacuation.moves}
    assert moved == {vm.name for vm in vms if vm.owner == "n1"}
    assert all(m.target != "n1" and m.source == "n1" for m in evacuation.moves)


def test_no_host_exceeds_its_memory_while_the_node_is_out():
    rng = random.Random(7)
    hosts = [PlanHost(f"n{i}", rng.choice([96, 128, 192]) * GiB) for i in range(6)]
    vms = []
    for h in hosts:
        used = 0
        while True:
            size = rng.choice([2, 4, 8, 16]) * GiB
            if used + size > h.memory_bytes * 0.6:
                break
            used += size
            vms.append(PlanVM(f"vm{len(vms)}", size, h.name))
    plan = plan_rolling(hosts, vms, [h.name for h in hosts])
    assert plan.fits, plan.problems
    capacity = {h.name: h.memory_bytes for h in hosts}
    for step in plan.steps:
        assert step.load_after[step.node] == 0
        for host, load in step.load_after.items():
            assert load <= capacity[host], (step.node, host)


def test_moves_spread_over_several_targets():
    hosts, vms = cluster(n=4, vms_per_node=6)
    targets = {m.target for m in plan_evacuation("n2", hosts, vms).moves}
    assert targets == {"n1", "n3", "n4"}


def test_a_vm_that_fits_nowhere_refuses_the_plan_with_its_name():
    hosts, vms = cluster(n=3, memory=32, vms_per_node=3, vm_memory=8)
    vms.append(PlanVM("bigdb", 20 * GiB, "n1"))
    try:
        plan_evacuation("n1", hosts, vms)
    except PlanRefused as refused:
        assert "bigdb" in str(refused)
    else:
        raise AssertionError("the plan should have been refused")


def test_rolling_plan_refuses_paused_node_unless_maintenance_allowed():
    hosts, vms = cluster(n=4)
    hosts[2] = PlanHost("n3", 64 * GiB, state="Paused")
    refused = plan_rolling(hosts, vms, ["n1", "n2", "n3", "n4"])
    assert any("n3 is Paused" in p for p in refused.problems)
    allowed = plan_rolling(hosts, [vm for vm in vms if vm.owner != "n3"], ["n1", "n2", "n3", "n4"],
                           allow_maintenance=True)
    assert allowed.fits, allowed.problems
    # a paused node receives nothing
    assert all(m.target != "n3" for step in allowed.steps for m in step.moves)


def test_quorum_needs_a_node_majority_with_one_node_out():
    hosts, vms = cluster(n=3, vms_per_node=1)
    hosts[1] = PlanHost("n2", 64 * GiB, state="Down")
    plan = plan_rolling(hosts, vms, ["n1"], allow_maintenance=True)
    assert any("Quorum would be lost" in p for p in plan.problems)


def test_a_two_node_cluster_with_a_witness_keeps_two_of_three_votes_with_a_node_out():
    hosts, vms = cluster(n=2, vms_per_node=2)
    plan = plan_rolling(hosts, vms, ["n1", "n2"], witness=True)
    assert plan.fits, plan.problems
    assert [m.target for m in plan.steps[0].moves] == ["n2", "n2"]
    assert quorum_holds_text(hosts, "n1", witness=True) == "Quorum holds while n1 is out: 2 of 3 votes with the witness"


def test_a_two_node_cluster_without_a_witness_is_refused_and_told_what_a_witness_would_do():
    hosts, vms = cluster(n=2, vms_per_node=2)
    plan = plan_rolling(hosts, vms, ["n1", "n2"])   # a witness Ferry has not read counts as none
    assert not plan.fits
    problem = quorum_problem(hosts, "n1")
    assert problem in plan.problems
    assert problem.startswith("Quorum would be lost while n1 is out: 1 of 2 nodes would be up, "
                              "more than 1 are needed")
    assert problem.endswith("; a witness (disk, file share or cloud) would keep 2 of 3 votes")


def test_a_witness_does_not_make_up_for_a_node_already_down():
    hosts, vms = cluster(n=3, vms_per_node=1)
    hosts[2] = PlanHost("n3", 64 * GiB, state="Down")
    assert quorum_problem(hosts, "n1", witness=True) == (
        "Quorum would be lost while n1 is out: 2 of 4 votes with the witness would be left, more than 2 are needed")
    # a Paused node still votes: then the witness keeps 3 of 4
    hosts[2] = PlanHost("n3", 64 * GiB, state="Paused")
    assert quorum_problem(hosts, "n1", witness=True) is None
    # three nodes Up without a witness keep 2 of 3; no hint about a witness when none is needed
    hosts[2] = PlanHost("n3", 64 * GiB)
    assert quorum_problem(hosts, "N1") is None   # node names compare as Windows compares them


def test_save_state_and_non_ha_vms_are_saved_not_moved():
    hosts, vms = cluster(n=3, vms_per_node=2)
    vms.append(PlanVM("local-only", 4 * GiB, "n1", highly_available=False))
    evacuation = plan_evacuation("n1", hosts, vms)
    assert "local-only" in evacuation.saved
    assert all(m.vm != "local-only" for m in evacuation.moves)
    saved_all = plan_evacuation("n1", hosts, vms, save_state=True)
    assert saved_all.moves == [] and len(saved_all.saved) == 3


def test_stopped_vms_stay_where_they_are():
    hosts, vms = cluster(n=3, vms_per_node=1)
    vms.append(PlanVM("off-vm", 4 * GiB, "n1", running=False))
    assert "off-vm" not in {m.vm for m in plan_evacuation("n1", hosts, vms).moves}


def test_lower_bound_is_the_largest_vm_or_the_slots():
    assert evacuation_lower_bound([8, 2, 2], 1.0, 2) == 8
    assert evacuation_lower_bound([4, 4, 4, 4], 1.0, 2) == 8
    assert evacuation_lower_bound([], 1.0, 2) == 0


def test_moves_and_saves_carry_the_vm_id_so_no_step_selects_a_vm_by_a_name_pattern():
    hosts = [PlanHost("n1", 64 * GiB), PlanHost("n2", 64 * GiB)]
    vms = [PlanVM("web*", 8 * GiB, "n1", id="6f1c0b6e-0000-4000-8000-000000000001"),
           PlanVM("db[1]", 4 * GiB, "n1", highly_available=False, id="6f1c0b6e-0000-4000-8000-000000000002"),
           PlanVM("web1", 4 * GiB, "n1", running=False, id="6f1c0b6e-0000-4000-8000-000000000003")]
    evacuation = plan_evacuation("n1", hosts, vms)
    assert [(m.vm, m.vm_id) for m in evacuation.moves] == [("web*", "6f1c0b6e-0000-4000-8000-000000000001")]
    assert [(v.name, v.id) for v in evacuation.to_save] == [("db[1]", "6f1c0b6e-0000-4000-8000-000000000002")]
    assert evacuation.saved == ["db[1]"]


def test_a_paused_vm_holds_its_memory_and_is_saved_not_live_migrated():
    hosts = [PlanHost("n1", 64 * GiB), PlanHost("n2", 64 * GiB)]
    vms = [PlanVM("held", 8 * GiB, "n1", paused=True, id="6f1c0b6e-0000-4000-8000-000000000004"),
           PlanVM("busy", 60 * GiB, "n2")]
    evacuation = plan_evacuation("n1", hosts, vms)
    assert evacuation.moves == [] and [v.id for v in evacuation.to_save] == ["6f1c0b6e-0000-4000-8000-000000000004"]
