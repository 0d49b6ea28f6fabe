"""The rolling upgrade of a Hyper-V cluster or a Scale-Out File Server, before it runs: what Ferry
knows per node, what it misses, the prerequisites, the plan an operator reads, and the job with
every step up front.

Per node, the seed's seven steps in one swimlane (see upgrades.steps): record the configuration,
evacuate (after the previous node's storage resync), pause and evict, remove from management,
provision (WDS + DHCP + BMC, then the template over WinRM), back under management, join
(Add-ClusterNode, resume, VMs back). A file server's node hands over its SOFS roles and CSVs
instead of VMs, gets the File Server role instead of Hyper-V, and its roles stay where they moved.
After the last node the functional level rises (unless deselected) and, on a Hyper-V cluster, the
VMs whose configuration version could be raised are listed.

A node starts only inside its maintenance window (its first step waits), and the library's pre- and
post-script, when chosen, are steps of its own swimlane around what takes it out of service.
"""
from __future__ import annotations

import ipaddress
from zoneinfo import ZoneInfo

from fabric import agents, clock, maintenance
from fabric.choices import VM_IN_MEMORY, ClusterKind
from fabric.models import (
    Cluster,
    Host,
    LibraryImage,
    PhysicalComputerProfile,
    RunAsAccount,
    Subnet,
    VirtualMachine,
)
from fabric.nodeops.inventory import plan_inputs_from_inventory
from fabric.nodeops.planner import plan_rolling, quorum_holds_text
from fabric.nodeops.workloads.sofs import sofs_dry_run
from jobs.engine import PlanStep, submit_job
from jobs.models import ACTIVE, Job
from nodescripts.models import UnknownScript, copy_for_job
from upgrades.releases import UnknownRelease, by_build, release_of_build, rolling_upgrade_refusal
from upgrades.request import (
    POOL,
    NodePlan,
    NodeSettings,
    UpgradePlan,
    UpgradeRefused,
    UpgradeRequest,
    Verdict,
)

# One constant per step name (the job engine finds the step functions by these).
PRECHECK = "upgrades.precheck"
RECORD = "upgrades.record_configuration"
EVACUATE = "upgrades.evacuate_node"
EVICT = "upgrades.evict_node"
UNMANAGE = "upgrades.remove_from_management"
PROVISION = "upgrades.provision_node"
MANAGE = "upgrades.manage_node"
JOIN = "upgrades.join_node"
CHECK_LEVEL = "upgrades.check_functional_level"
RAISE_LEVEL = "upgrades.raise_functional_level"
REFRESH = "upgrades.refresh_cluster"
VM_VERSIONS = "upgrades.list_vm_versions"
PRE_SCRIPT = "upgrades.pre_node_script"       # before the node is evacuated
POST_SCRIPT = "upgrades.post_node_script"     # once it has joined again and been resumed

# What missing_settings names, as the settings file's keys.
BMC_ADDRESS, MANAGEMENT_MAC, IP_SETTINGS = "bmc_address", "management_mac", "ip"


def _subnet_of(address: str) -> Subnet | None:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    for subnet in Subnet.objects.select_related("logical_network"):
        if ip in subnet.network:
            return subnet
    return None


def default_node_settings(cluster: Cluster, profile: PhysicalComputerProfile) -> list[NodeSettings]:
    """What Ferry knows for each node: its BMC, its management MAC, and IP settings from the profile's
    pool or from the subnet its current address lies in (kept as a static address)."""
    pool = profile.ip_pool
    settings = []
    for host in cluster.nodes.order_by("name"):
        subnet, ip = None, ""
        if pool is not None:
            subnet, ip = pool.subnet, POOL
        else:
            subnet = _subnet_of(host.address)
            ip = host.address if subnet is not None else ""
        settings.append(NodeSettings(
            host_id=host.pk, bmc_address=host.bmc_address or "", bmc_port=host.bmc_port or 623,
            management_mac=host.management_mac or "",
            logical_network_id=subnet.logical_network_id if subnet else None,
            subnet_id=subnet.pk if subnet else None, ip=ip,
        ))
    return settings


def settings_missing(settings: NodeSettings) -> list[str]:
    missing = []
    if not settings.bmc_address:
        missing.append(BMC_ADDRESS)
    if not settings.management_mac:
        missing.append(MANAGEMENT_MAC)
    if settings.subnet_id is None or not settings.ip:
        missing.append(IP_SETTINGS)
    return missing


def missing_settings(cluster: Cluster, profile: PhysicalComputerProfile) -> dict[int, list[str]]:
    """Per node (host id), what Ferry could not work out: no BMC address, no recorded MAC, no IP settings."""
    found = {}
    for settings in default_node_settings(cluster, profile):
        missing = settings_missing(settings)
        if missing:
            found[settings.host_id] = missing
    return found


class _Loaded:
    """The request's rows, read once."""

    def __init__(self, request: UpgradeRequest):
        self.request = request
        self.cluster = Cluster.objects.filter(pk=request.cluster_id).first()
        self.profile = PhysicalComputerProfile.objects.select_related("image").filter(pk=request.profile_id).first()
        self.bmc_run_as = RunAsAccount.objects.filter(pk=request.bmc_run_as_id).first()
        image_id = request.image_id or (self.profile.image_id if self.profile else None)
        self.image = LibraryImage.objects.select_related("deployment_server").filter(pk=image_id).first()
        ids = [n.host_id for n in request.nodes]
        self.hosts = {h.pk: h for h in Host.objects.filter(pk__in=ids)}
        self.target = None
        if self.image is not None:
            try:
                self.target = by_build(self.image.os_build)
            except UnknownRelease:
                self.target = None

    def node_names(self) -> list[str]:
        return [self.hosts[n.host_id].name for n in self.request.nodes if n.host_id in self.hosts]


def _bmc_verdicts(loaded: _Loaded) -> list[Verdict]:
    verdicts = []
    for settings in loaded.request.nodes:
        host = loaded.hosts.get(settings.host_id)
        if host is None or not settings.bmc_address or loaded.bmc_run_as is None:
            continue
        target = agents.bmc.BMCTarget(settings.bmc_address, settings.bmc_port, loaded.bmc_run_as.username,
                                      loaded.bmc_run_as.password, loaded.bmc_run_as.name)
        try:
            state = agents.bmc.power_state(target)
        except agents.AgentError as error:
            verdicts.append(Verdict(f"BMC of {host.name}", False, f"The BMC of {host.name} does not answer: {error}"))
            continue
        verdicts.append(Verdict(f"BMC of {host.name}", True, f"The BMC of {host.name} answers (power {state})."))
    return verdicts


def _name_verdicts(loaded: _Loaded) -> list[Verdict]:
    """A node renamed with the directory check on: the new name must be free (asked through the
    deployment server, which reaches a domain controller)."""
    renamed = [(loaded.hosts[n.host_id], n.new_name) for n in loaded.request.nodes
               if n.host_id in loaded.hosts and n.new_name
               and n.new_name.lower() != loaded.hosts[n.host_id].name.lower()]
    verdicts = []
    taken_here = {h.name.lower() for h in Host.objects.exclude(pk__in=[h.pk for h, _ in renamed])}
    for host, name in renamed:
        if name.lower() in taken_here:
            verdicts.append(
                Verdict(f"name of {host.name}", False, f"{name} is the name of another host Ferry manages.")
            )
    checked = [(h, name) for h, name in renamed
               if not next(n for n in loaded.request.nodes if n.host_id == h.pk).skip_ad_check]
    if not checked:
        return verdicts
    server = loaded.image.deployment_server if loaded.image is not None else None
    if server is None:
        return verdicts + [Verdict("names in the directory", False, "No deployment server to ask the directory "
                                                                    "through; skip the Active Directory check.")]
    conn = agents.Connection.for_endpoint(server)
    for host, name in checked:
        try:
            taken = agents.provisioning.computer_name_taken(conn, name)
        except agents.AgentError as error:
            verdicts.append(
                Verdict(f"name of {host.name}", False, f"Could not ask the directory about {name}: {error}")
            )
            continue
        verdicts.append(Verdict(f"name of {host.name}", not taken,
                                f"{name} is taken in the directory: choose another name for {host.name}." if taken
                                else f"{name} is free in the directory."))
    return verdicts


def check_prerequisites(request: UpgradeRequest, *, live=None, witness: bool | None = None) -> list[Verdict]:
    """Every prerequisite with its verdict; refused requests have at least one that does not hold.

    `live` (plan hosts and VMs read from the cluster) replaces the inventory for the evacuation
    check, and `witness` (whether the cluster's witness adds a vote now) what the last refresh read:
    the job's first step passes both."""
    loaded = _Loaded(request)
    cluster = loaded.cluster
    verdicts = []
    if cluster is None:
        return [Verdict("managed", False, "The cluster is not managed by Ferry.")]
    upgradable = cluster.kind in (ClusterKind.HYPERV, ClusterKind.SOFS)
    verdicts.append(Verdict("managed", upgradable,
                            f"{cluster.name} is managed by Ferry." if upgradable else
                            f"{cluster.name} is not a Hyper-V cluster or a Scale-Out File Server: Upgrade Cluster "
                            f"takes those."))
    if loaded.profile is None:
        verdicts.append(Verdict("profile", False, "The physical computer profile no longer exists."))
    if loaded.bmc_run_as is None:
        verdicts.append(Verdict("BMC Run As account", False, "The BMC Run As account no longer exists."))
    nodes = cluster.nodes.all()
    foreign = [n.host_id for n in request.nodes if n.host_id not in loaded.hosts
               or loaded.hosts[n.host_id].cluster_id != cluster.pk]
    if not request.nodes:
        verdicts.append(Verdict("nodes", False, "Choose at least one node to upgrade."))
    elif foreign:
        verdicts.append(Verdict("nodes", False, f"Hosts {foreign} are not nodes of {cluster.name}."))
    image, target = loaded.image, loaded.target
    if image is None:
        verdicts.append(Verdict("image", False, "Choose the library image of the target release."))
    elif target is None:
        verdicts.append(Verdict("image", False, f"The image {image.name} has build {image.os_build}, "
                                                f"which is not a Windows Server release Ferry knows."))
    elif not (image.deployment_server_id and image.image_name):
        verdicts.append(Verdict("image", False, f"The image {image.name} is not an install image of a deployment "
                                                f"server: import it into WDS (Import-WdsInstallImage) and refresh "
                                                f"the deployment server."))
    else:
        verdicts.append(Verdict("image", True, f"{image.name} ({target.name}) is in the image store of "
                                               f"{image.deployment_server.name}."))
    if target is not None:
        problems = []
        for host in nodes:
            current = release_of_build(host.os_build)
            if current is None:
                problems.append(f"the release of {host.name} (build {host.os_build}) is not known: refresh it")
            elif current != target:
                refusal = rolling_upgrade_refusal(current, target)
                if refusal:
                    problems.append(f"{host.name}: {refusal}")
        verdicts.append(Verdict("release", not problems, "; ".join(problems) or
                                f"Every node may be upgraded to {target.name} by a rolling upgrade."))
    missing = {loaded.hosts[n.host_id].name: settings_missing(n) for n in request.nodes if n.host_id in loaded.hosts}
    missing = {name: keys for name, keys in missing.items() if keys}
    verdicts.append(Verdict("settings", not missing, "; ".join(f"{name}: missing {', '.join(keys)}"
                                                              for name, keys in sorted(missing.items()))
                            or "Every node has its BMC, management MAC and IP settings."))
    if loaded.bmc_run_as is not None:
        verdicts += _bmc_verdicts(loaded)
    verdicts += _name_verdicts(loaded)
    if live is None:
        plan_hosts, plan_vms = plan_inputs_from_inventory(list(nodes))
    else:
        plan_hosts, plan_vms = live
    witness = cluster.witness_votes if witness is None else witness
    rolling = plan_rolling(plan_hosts, plan_vms, loaded.node_names(), witness=witness)
    chosen = {name.lower() for name in loaded.node_names()}
    local = sorted(f"{vm.name} on {vm.owner}" for vm in plan_vms
                   if vm.owner.lower() in chosen and not vm.highly_available)
    if cluster.kind == ClusterKind.HYPERV or local:
        verdicts.append(Verdict("highly available VMs", not local,
                                f"Not highly available, so they live on the node and would be lost when it is "
                                f"re-imaged: {', '.join(local)}. Make them highly available or move them off first."
                                if local else "Every VM on the chosen nodes is highly available."))
    quorum = [p for p in rolling.problems if p.startswith("Quorum")]
    holds = (quorum_holds_text(plan_hosts, loaded.node_names()[0], witness=witness) + "."
             if loaded.node_names() and not quorum else "Quorum holds with one node out.")
    verdicts.append(Verdict("quorum", not quorum, "; ".join(quorum) or holds))
    other = [p for p in rolling.problems if not p.startswith("Quorum")]
    verdicts.append(Verdict("evacuation", not other, "; ".join(other) or
                            "The evacuation plan fits for every node."))
    if live is None:   # the job runs its own copy of the scripts, whatever the library holds by then
        verdicts += _script_verdicts(request)
        busy = Job.objects.filter(lock_key=f"cluster:{cluster.pk}", status__in=ACTIVE).first()
        verdicts.append(Verdict("no other job", busy is None, f"Job {busy.title!r} runs on {cluster.name}."
                                if busy else f"No other job runs on {cluster.name}."))
    return verdicts


def left_behind(loaded: "_Loaded") -> list[str]:
    """Nodes neither in the request nor on the target release: the functional level cannot rise."""
    chosen = {n.host_id for n in loaded.request.nodes}
    build = loaded.target.build if loaded.target else None
    return sorted(h.name for h in loaded.cluster.nodes.all() if h.pk not in chosen and h.os_build != build)


def node_steps(host: Host, kind: str = ClusterKind.HYPERV, *, pre_script: str = "",
               post_script: str = "") -> list[tuple[str, str]]:
    """(step name, title) of one node's steps on a cluster of `kind`: the seven of every upgrade, and
    the library scripts named (the pre-script before the node is evacuated, the post-script once it
    has joined and been resumed)."""
    name = host.name
    if kind == ClusterKind.SOFS:
        evacuate = f"Wait for healthy storage, pause {name} and move its SOFS roles and CSVs to other nodes"
        provision = (f"Re-image {name} through its BMC and the deployment server, then install File Server and "
                     f"Failover Clustering")
        join = f"Add {name} to the cluster and resume it (the roles and CSVs stay where they moved)"
    else:
        evacuate = f"Pause {name} and live-migrate its VMs"
        provision = f"Re-image {name} through its BMC and the deployment server, then configure it"
        join = f"Add {name} to the cluster, resume it and bring its VMs back"
    steps = [(RECORD, f"Record the configuration of {name}")]
    if pre_script:
        steps.append((PRE_SCRIPT, f"Run the pre-script {pre_script} on {name}"))
    steps += [
        (EVACUATE, evacuate),
        (EVICT, f"Evict {name} from the cluster (Remove-ClusterNode)"),
        (UNMANAGE, f"Remove {name} from management while it is reprovisioned"),
        (PROVISION, provision),
        (MANAGE, f"Bring {name} back under management"),
        (JOIN, join),
    ]
    if post_script:
        steps.append((POST_SCRIPT, f"Run the post-script {post_script} on {name}"))
    return steps


def upgrade_scripts(request: UpgradeRequest) -> dict[str, dict]:
    """The job's copies of the chosen scripts by step name (later library edits do not change a
    running job); UnknownScript when the library has no script of a name."""
    chosen = {}
    for step, name in ((PRE_SCRIPT, request.pre_script), (POST_SCRIPT, request.post_script)):
        script = copy_for_job(name)
        if script is not None:
            chosen[step] = script
    return chosen


def _script_verdicts(request: UpgradeRequest) -> list[Verdict]:
    if not (request.pre_script or request.post_script):
        return []
    try:
        upgrade_scripts(request)
    except UnknownScript as error:
        return [Verdict("node scripts", False, str(error))]
    named = [f"the {what} {name}" for what, name in (("pre-script", request.pre_script),
                                                     ("post-script", request.post_script)) if name]
    verb = "are" if len(named) > 1 else "is"
    named = " and ".join(named)
    return [Verdict("node scripts", True, f"{named[0].upper()}{named[1:]} {verb} in the library; the job keeps a "
                                          f"copy of each as it is when it starts.")]


def _moment(when, zone: str) -> str:
    local = when.astimezone(ZoneInfo(zone))
    return f"{local:%a %d %b %H:%M} ({zone})"


def window_note(hosts: list[Host]) -> str:
    """When the chosen nodes may start, for the Summary and --dry-run: each distinct set of
    maintenance windows, whether it is open now, and when it closes or next opens ('' when none is set)."""
    now = clock.now()
    seen, notes = set(), []
    for host in hosts:
        windows = maintenance.for_host(host)
        if windows.unrestricted or windows.source in seen:
            continue
        seen.add(windows.source)
        zone = windows.windows[0].time_zone
        if windows.is_open(now):
            notes.append(f"The maintenance window of {windows.source} is open now, until "
                         f"{_moment(windows.closes_at(now), zone)}; a node starts only inside it, so once it closes "
                         f"the job waits between nodes for the next one.")
        else:
            opening = windows.next_opening(now)
            notes.append(f"The maintenance window of {windows.source} is closed now; it next opens "
                         f"{_moment(opening, zone)}: no node of it leaves before then (the job waits, "
                         f"holding the cluster).")
    return " ".join(notes)


def _storage_moves(loaded: _Loaded) -> tuple[dict[str, list[tuple[str, str]]], Verdict | None]:
    """A file server: per node, (role or CSV, destination) read from the cluster now, each node from
    the placement the previous ones left; or a verdict saying why they could not be read."""
    moves, problem = sofs_dry_run(loaded.cluster, loaded.node_names())
    if problem:
        return {}, Verdict("roles and volumes", False, problem)
    return {node: [(f"{m.kind} {m.name}", m.target) for m in found] for node, found in moves.items()}, None


STOPPED_VM_TARGET = "the Up node with the most memory free then (a quick move: nothing to copy)"


def plan_upgrade(request: UpgradeRequest) -> UpgradePlan:
    """What the job will do, for the wizard's Summary and `upgrade_cluster --dry-run`."""
    loaded = _Loaded(request)
    verdicts = check_prerequisites(request)
    if loaded.cluster is None:
        return UpgradePlan("", "", [], verdicts)
    kind = loaded.cluster.kind
    if kind == ClusterKind.SOFS:
        moves, problem = _storage_moves(loaded)
        verdicts += [problem] if problem else []
    else:
        plan_hosts, plan_vms = plan_inputs_from_inventory(list(loaded.cluster.nodes.all()))
        rolling = plan_rolling(plan_hosts, plan_vms, loaded.node_names(), witness=loaded.cluster.witness_votes)
        moves = {step.node: [(m.vm, m.target) for m in step.migration_order()] for step in rolling.steps}
        stopped = (VirtualMachine.objects.filter(host__in=loaded.hosts.values(), highly_available=True)
                   .exclude(state__in=VM_IN_MEMORY).select_related("host").order_by("name"))
        for vm in stopped:  # moved quickly just before the node leaves (upgrades.steps.node)
            moves.setdefault(vm.host.name, []).append((f"{vm.name} ({vm.state}, not running)", STOPPED_VM_TARGET))
    nodes = []
    for settings in request.nodes:
        host = loaded.hosts.get(settings.host_id)
        if host is None:
            continue
        steps = node_steps(host, kind, pre_script=request.pre_script, post_script=request.post_script)
        nodes.append(NodePlan(host.pk, host.name, [title for _, title in steps], moves.get(host.name, [])))
    target = loaded.target.name if loaded.target else ""
    level, warning = "", ""
    if request.functional_level and loaded.target is not None and left_behind(loaded):
        level = (f"The functional level stays: {', '.join(left_behind(loaded))} keep an older release "
                 f"(the cluster stays in mixed mode)")
    elif request.functional_level and loaded.target is not None:
        level = (f"Raise the functional level of {loaded.cluster.name} to {loaded.target.functional_level} "
                 f"({target})")
        warning = ("The point of no return: once the functional level rises, no node of an older release can "
                   "join the cluster again.")
    window = window_note([loaded.hosts[n.host_id] for n in request.nodes if n.host_id in loaded.hosts])
    return UpgradePlan(loaded.cluster.name, target, nodes, verdicts, level, warning, kind=kind,
                       maintenance_window=window)


def submit_upgrade(request: UpgradeRequest, user=None, *, campaign_step=None):
    """Queue the rolling upgrade; (job, created). UpgradeRefused with the reasons when a prerequisite fails.
    `campaign_step`: the campaign's step (its pk) this job is a child of."""
    verdicts = check_prerequisites(request)
    refused = [v.message for v in verdicts if not v.ok]
    if refused:
        raise UpgradeRefused(" ".join(refused))
    loaded = _Loaded(request)
    cluster, target = loaded.cluster, loaded.target
    try:
        scripts = upgrade_scripts(request)
    except UnknownScript as error:   # deleted from the library since the prerequisites were read
        raise UpgradeRefused(str(error)) from None
    params = {"cluster_id": cluster.pk, "request": request.as_params(), "target_build": target.build,
              "to_level": target.functional_level}
    plan = [PlanStep(PRECHECK, title=f"Check the prerequisites of the upgrade of {cluster.name} to {target.name}",
                     target=cluster.name, params=params)]
    for settings in request.nodes:
        host = loaded.hosts[settings.host_id]
        node_params = dict(params, host_id=host.pk)
        plan += [PlanStep(step, title=title, target=host.name, group=host.name,
                          params=dict(node_params, script=scripts[step]) if step in scripts else node_params)
                 for step, title in node_steps(host, cluster.kind, pre_script=request.pre_script,
                                               post_script=request.post_script)]
    if request.functional_level and not left_behind(loaded):
        plan += [
            PlanStep(CHECK_LEVEL, target=cluster.name, params=params,
                     title=f"Check that {cluster.name} can go to functional level {target.functional_level} (-WhatIf)"),
            PlanStep(RAISE_LEVEL, target=cluster.name, params=params,
                     title=f"Raise the functional level of {cluster.name} to {target.functional_level} "
                           f"({target.name}; the point of no return)"),
        ]
    plan.append(PlanStep(REFRESH, target=cluster.name, params=params, title=f"Refresh {cluster.name}"))
    if cluster.kind == ClusterKind.HYPERV:
        plan.append(PlanStep(VM_VERSIONS, target=cluster.name, params=params,
                             title=f"List the VMs whose configuration version could be raised to {target.vm_version}"))
    return submit_job(kind="rolling_upgrade", title=f"Upgrade cluster {cluster.name} to {target.name}",
                      target=cluster, lock_key=f"cluster:{cluster.pk}", requested_by=user, plan=plan,
                      params={**params, **({"campaign_step": campaign_step} if campaign_step else {})})
