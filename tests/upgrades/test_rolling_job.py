"""The rolling upgrade as a job, against the lab: a 4-node 2019 cluster to 2022 with its VMs running
throughout, a subset of nodes, refusals, and faults that stop one node at a named step."""
import pytest

from fabric.models import Host
from tests.compliance.labenv import finish
from tests.upgrades.processes import upgrade_lab
from tests.upgrades.rolling_lab import TOPOLOGY, bring_in, request_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.lab]


def _jobs_in_this_process(settings, monkeypatch):
    """Jobs run here by `finish`, with the short engine delays and polls of the job tests."""
    from tests.jobs.conftest import FAST

    settings.FERRY_JOBS = dict(FAST)
    monkeypatch.setenv("FERRY_COMPLIANCE_POLL_SECONDS", "0.05")


@pytest.fixture
def lab(transactional_db, settings, monkeypatch):
    _jobs_in_this_process(settings, monkeypatch)
    with upgrade_lab(TOPOLOGY, monkeypatch) as running:
        yield running


def _why(job) -> str:
    from jobs.models import JobLogEntry

    steps = [f"{s.name} {s.target}: {s.status} {s.message} {s.error if hasattr(s, 'error') else ''}"
             for s in job.steps.filter(is_group=False).order_by("order")]
    logs = [e.message for e in JobLogEntry.objects.filter(job=job).order_by("seq")]
    return "\n".join(steps + logs[-15:])


def _running_vms(lab):
    return sorted(vm["name"] for vm in lab.state()["vms"] if vm["state"] == "Running")


def test_a_four_node_2019_cluster_is_upgraded_to_2022_with_its_vms_running(lab):
    from upgrades.orchestration import submit_upgrade

    cluster, profile, bmc_run_as, subnet = bring_in(lab)
    before = _running_vms(lab)
    assert len(before) == 5
    job, created = submit_upgrade(request_for(lab, cluster, profile, bmc_run_as, subnet))
    assert created
    job = finish(job, limit=600)
    assert job.status == "succeeded", _why(job)
    state = lab.state()
    nodes = {h["name"]: h for h in state["hosts"] if h["cluster"] == "RU19"}
    assert sorted(nodes) == ["RU-N1", "RU-N2", "RU-N3", "RU-N4"]
    assert {h["os"]["build"] for h in nodes.values()} == {20348}
    assert lab.run_json("RU-N1", "(Get-Cluster).ClusterFunctionalLevel | ConvertTo-Json") == 11
    assert _running_vms(lab) == before
    assert state["stagings"] == []
    for node in nodes:   # the static configuration of the management vNIC, from the subnet
        assert lab.run_json(node, "(Get-NetRoute | Where-Object { $_.DestinationPrefix -eq '0.0.0.0/0' })"
                                  ".InterfaceAlias, (Get-NetRoute | Where-Object { $_.DestinationPrefix -eq "
                                  "'0.0.0.0/0' }).NextHop | ConvertTo-Json -Compress") == [
            "vEthernet (Management)", "127.0.10.254"]
    lab.assert_invariants_held()
    cluster.refresh_from_db()
    assert cluster.functional_level == 11 and cluster.mixed_mode_since is None
    assert sorted(cluster.nodes.values_list("os_build", flat=True)) == [20348] * 4
    one = job.steps.filter(name="upgrades.record_configuration").first()
    assert one.data["template"]["image_name"] == "Windows Server 2022 SERVERDATACENTER"


def _failed_step(job):
    return job.steps.filter(status="failed", is_group=False).first()


def _healthy_without(lab, node: str, vms_before: list[str]):
    """Every other node Up in the cluster, every VM still running, no invariant broken."""
    state = lab.state()
    cluster = next(c for c in state["clusters"] if c["name"] == "RU19")
    others = {h["name"]: h["node_state"] for h in state["hosts"] if h["cluster"] == "RU19" and h["name"] != node}
    assert set(others.values()) == {"Up"} and len(others) == 3, (others, cluster)
    assert _running_vms(lab) == vms_before
    lab.assert_invariants_held()


def _run_one_node(lab, node="RU-N1"):
    from upgrades.orchestration import submit_upgrade

    cluster, profile, bmc_run_as, subnet = bring_in(lab)
    before = _running_vms(lab)
    job, _ = submit_upgrade(request_for(lab, cluster, profile, bmc_run_as, subnet, names=[node],
                                        functional_level=False))
    return finish(job, limit=300), before


def test_a_subset_of_nodes_leaves_the_cluster_in_mixed_mode(lab):
    from fabric.models import Host
    from upgrades.orchestration import submit_upgrade

    cluster, profile, bmc_run_as, subnet = bring_in(lab)
    before = _running_vms(lab)
    request = request_for(lab, cluster, profile, bmc_run_as, subnet, names=["RU-N2", "RU-N3"])
    job = finish(submit_upgrade(request)[0], limit=300)
    assert job.status == "succeeded", _why(job)
    builds = {h["name"]: h["os"]["build"] for h in lab.state()["hosts"] if h["cluster"] == "RU19"}
    assert builds == {"RU-N1": 17763, "RU-N2": 20348, "RU-N3": 20348, "RU-N4": 17763}
    # older nodes remain: the plan leaves the functional level alone (Windows would refuse it)
    assert not job.steps.filter(name__in=["upgrades.check_functional_level",
                                          "upgrades.raise_functional_level"]).exists()
    assert lab.run_json("RU-N1", "(Get-Cluster).ClusterFunctionalLevel | ConvertTo-Json") == 10
    assert _running_vms(lab) == before
    lab.assert_invariants_held()
    cluster.refresh_from_db()
    assert cluster.mixed_mode_since is not None
    # shown from the moment the first upgraded node joined, not only after the job's last refresh
    from upgrades.rolling import JOIN
    assert cluster.mixed_mode_since <= job.steps.get(name=JOIN, target="RU-N2").finished
    assert dict(Host.objects.values_list("name", "os_build")) == builds


def _when(lab, condition, action, what: str):
    """Run `action` in a thread as soon as `condition(lab.state())` holds (a fault injected mid-job)."""
    import threading
    import time

    done = threading.Event()

    def watch():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not done.is_set():
            if condition(lab.state()):
                action()
                done.set()
                return
            time.sleep(0.02)

    thread = threading.Thread(target=watch, name=f"inject {what}", daemon=True)
    thread.start()
    return done


def _evicted(name):
    return lambda state: next(h for h in state["hosts"] if h["key"] == name or h["name"] == name)["cluster"] is None


def test_a_bmc_that_stops_answering_stops_the_node_before_it_is_re_imaged(lab):
    injected = _when(lab, _evicted("RU-N1"), lambda: lab.fault("bmc_unresponsive", host="RU-N1"), "BMC fault")
    job, before = _run_one_node(lab)
    assert injected.is_set() and job.status == "failed"
    step = _failed_step(job)
    assert step.name == "upgrades.provision_node", _why(job)
    assert "The BMC of RU-N1 refused the network boot" in step.message
    assert "evicted and out of management, not yet re-imaged" in step.message
    record = Host.objects.get(name="RU-N1")  # the host's page and the Compliance view say so too
    assert (record.failure_state == "evicted and out of management, not yet re-imaged"
            and record.failure_job_id == job.pk)
    assert ("RU-N1 is evicted and out of management, not yet re-imaged. Next: once the machine is fixed, Retry"
            in job.error)
    assert lab.state()["stagings"] == []                    # nothing left staged for a boot that never came
    host = next(h for h in lab.state()["hosts"] if h["name"] == "RU-N1")
    assert host["os"]["build"] == 17763 and host["cluster"] is None
    _healthy_without(lab, "RU-N1", before)


def test_a_node_that_never_picks_up_the_deployment_stops_at_provisioning(lab):
    lab.fault("pxe_boot_ignored", host="RU-N1")
    job, before = _run_one_node(lab)
    step = _failed_step(job)
    assert step is not None and step.name == "upgrades.provision_node", _why(job)
    assert "never picked up the deployment" in step.message and "not re-imaged" in step.message
    _healthy_without(lab, "RU-N1", before)


def test_a_node_that_comes_back_with_the_wrong_build_stops_at_provisioning(lab):
    from fabric.models import LibraryImage
    from upgrades.orchestration import submit_upgrade

    cluster, profile, bmc_run_as, subnet = bring_in(lab)
    # the 2022 entry now names the 2025 image on the server: what a mix-up in the image store looks like
    LibraryImage.objects.filter(os_build=20348).update(image_name="Windows Server 2025 SERVERDATACENTER",
                                                       image_group="WS2025")
    before = _running_vms(lab)
    job = finish(submit_upgrade(request_for(lab, cluster, profile, bmc_run_as, subnet, names=["RU-N1"],
                                            functional_level=False))[0], limit=300)
    step = _failed_step(job)
    assert step is not None and step.name == "upgrades.provision_node", _why(job)
    assert "with build 26100" in step.message and "not 20348" in step.message
    _healthy_without(lab, "RU-N1", before)


def test_add_cluster_node_failing_stops_the_node_at_its_last_step(lab):
    lab.fault("cmdlet_fails", host="RU-N2", cmdlet="Add-ClusterNode",
              message="The cluster service refused the join of RU-N1.")
    job, before = _run_one_node(lab)
    step = _failed_step(job)
    assert step is not None and step.name == "upgrades.join_node", _why(job)
    assert "The cluster service refused the join of RU-N1" in step.message
    assert "RU-N1 runs the new release but is not a node of RU19" in step.message
    host = next(h for h in lab.state()["hosts"] if h["name"] == "RU-N1")
    assert host["os"]["build"] == 20348 and host["cluster"] is None
    _healthy_without(lab, "RU-N1", before)


def test_a_new_name_is_checked_in_the_directory_unless_the_check_is_skipped(lab):
    from upgrades.orchestration import check_prerequisites, submit_upgrade
    from upgrades.request import UpgradeRefused

    cluster, profile, bmc_run_as, subnet = bring_in(lab)
    request = request_for(lab, cluster, profile, bmc_run_as, subnet, names=["RU-N1"])

    def verdict(new_name, skip):
        request.nodes[0].new_name, request.nodes[0].skip_ad_check = new_name, skip
        return {v.name: v for v in check_prerequisites(request)}.get("name of RU-N1")

    taken = verdict("RUWDS", False)             # the deployment server's own computer account
    assert not taken.ok and "RUWDS is taken in the directory" in taken.message
    assert verdict("RUWDS", True) is None       # skipped, as the operator chose
    assert verdict("RU-NEW1", False).ok
    assert not verdict("RU-N3", True).ok         # another host Ferry manages, whatever the directory says
    request.nodes[0].new_name, request.nodes[0].skip_ad_check = "RUWDS", False
    with pytest.raises(UpgradeRefused, match="RUWDS is taken in the directory"):
        submit_upgrade(request)


def test_a_vm_that_is_not_highly_available_refuses_the_upgrade_of_its_node(settings):
    from lab.testing import LabProcess
    from upgrades.orchestration import check_prerequisites

    local = TOPOLOGY.replace('{ name = "ru-vm5", owner = "RU-N4", memory_gb = 4.0 }',
                             '{ name = "ru-vm5", owner = "RU-N4", memory_gb = 4.0, highly_available = false }')
    with LabProcess(topology_text=local, speed=100.0) as lab:
        cluster, profile, bmc_run_as, subnet = bring_in(lab)
        verdicts = {v.name: v for v in check_prerequisites(request_for(lab, cluster, profile, bmc_run_as, subnet))}
        assert not verdicts["highly available VMs"].ok
        assert "ru-vm5 on RU-N4" in verdicts["highly available VMs"].message
        others = request_for(lab, cluster, profile, bmc_run_as, subnet, names=["RU-N1", "RU-N2"])
        assert {v.name: v for v in check_prerequisites(others)}["highly available VMs"].ok


def _pool(subnet, lab):
    """A pool holding just RU-N1's own address: the lab's TLS certificate names only the addresses of
    its topology, so a node moved to another address could not be reached over validated HTTPS."""
    from fabric.models import StaticIPPool

    address = lab.entry("RU-N1")["address"]
    return StaticIPPool.objects.create(subnet=subnet, name="Management pool", range_start=address,
                                       range_end=address)


def test_an_address_from_the_pool_is_taken_when_provisioning_starts(lab):
    from fabric.models import Host, IPAllocation
    from upgrades.orchestration import submit_upgrade
    from upgrades.request import POOL

    cluster, profile, bmc_run_as, subnet = bring_in(lab)
    pool = _pool(subnet, lab)
    request = request_for(lab, cluster, profile, bmc_run_as, subnet, names=["RU-N1"], functional_level=False)
    request.nodes[0].ip = POOL
    job = finish(submit_upgrade(request)[0], limit=300)
    assert job.status == "succeeded", _why(job)
    host = Host.objects.get(name="RU-N1")
    address = pool.range_start
    assert host.address == address
    assert next(h for h in lab.state()["hosts"] if h["name"] == "RU-N1")["ip"] == address
    assert list(IPAllocation.objects.filter(pool=pool).values_list("address", "host__name")) == [
        (address, "RU-N1")]
    assert job.log.filter(message__contains=f"Took {address} from the pool Management pool").exists()
    lab.assert_invariants_held()


def test_an_address_from_the_pool_goes_back_when_the_node_never_boots(lab):
    from fabric.models import IPAllocation
    from upgrades.orchestration import submit_upgrade
    from upgrades.request import POOL

    cluster, profile, bmc_run_as, subnet = bring_in(lab)
    _pool(subnet, lab)
    injected = _when(lab, _evicted("RU-N1"), lambda: lab.fault("bmc_unresponsive", host="RU-N1"), "BMC fault")
    request = request_for(lab, cluster, profile, bmc_run_as, subnet, names=["RU-N1"], functional_level=False)
    request.nodes[0].ip = POOL
    job = finish(submit_upgrade(request)[0], limit=300)
    assert injected.is_set() and _failed_step(job).name == "upgrades.provision_node", _why(job)
    assert not IPAllocation.objects.exists()
    assert job.log.filter(message__contains="back to its pool: RU-N1 never used it").exists()


def test_vms_that_are_off_or_saved_move_with_their_roles_before_the_node_is_re_imaged(
        transactional_db, settings, monkeypatch):
    from upgrades.orchestration import submit_upgrade
    from upgrades.rolling import STOPPED_VM_TARGET, plan_upgrade

    _jobs_in_this_process(settings, monkeypatch)
    local = TOPOLOGY.replace('{ name = "ru-vm3", owner = "RU-N2", memory_gb = 8.0 },',
                             '{ name = "ru-vm3", owner = "RU-N2", memory_gb = 8.0 },\n'
                             '       { name = "ru-off", owner = "RU-N2", memory_gb = 16.0, state = "Off" },\n'
                             '       { name = "ru-saved", owner = "RU-N2", memory_gb = 2.0, state = "Saved" },')
    assert "ru-off" in local and "ru-saved" in local
    with upgrade_lab(local, monkeypatch) as lab:
        cluster, profile, bmc_run_as, subnet = bring_in(lab)
        before = _running_vms(lab)
        request = request_for(lab, cluster, profile, bmc_run_as, subnet, names=["RU-N2"])
        planned = dict(plan_upgrade(request).nodes[0].moves)   # what the Summary and --dry-run show
        assert planned["ru-off (Off, not running)"] == planned["ru-saved (Saved, not running)"] == STOPPED_VM_TARGET
        job = finish(submit_upgrade(request)[0], limit=300)
        assert job.status == "succeeded", _why(job)
        vms = {vm["name"]: vm for vm in lab.state()["vms"]}
        # moved with their roles to another node, as they were: nothing started, nothing lost
        assert vms["ru-off"]["state"] == "Off" and vms["ru-saved"]["state"] == "Saved"
        assert vms["ru-off"]["host"] != "RU-N2" and vms["ru-saved"]["host"] != "RU-N2"
        assert _running_vms(lab) == before
        builds = {h["name"]: h["os"]["build"] for h in lab.state()["hosts"] if h["cluster"] == "RU19"}
        assert builds["RU-N2"] == 20348
        assert "moved the VMs that were not running: ru-off (Off)" in job.steps.get(
            name="upgrades.evacuate_node").message
        lab.assert_invariants_held()
