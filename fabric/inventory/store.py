"""Writing what was read from the machines into the inventory, in one transaction.

Records are matched the way Windows identifies things: clusters and hosts by name (case-
insensitive), VMs by their Id, shares by (cluster, scope, name). Re-reading updates; it never
duplicates. A host that does not answer is marked Not Responding with the reason; nothing is
deleted because a machine was silent.
"""
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from fabric.agents.cluster import ClusterQuorum
from fabric.choices import ClusterKind, HostStatus, NodeState, WinRMTransport, WitnessKind
from fabric.inventory.collect import ClusterReading, NodeReading
from fabric.models import Cluster, FileShare, Host, HostGroup, VirtualMachine
from upgrades.releases import is_mixed_mode

VM_STATES = {"Running", "Off", "Saved", "Paused", "Starting", "Stopping", "Saving"}
GROUP_TO_VM_STATE = {"Online": "Running", "Offline": "Off", "Failed": "Off"}


class InventoryError(Exception):
    """What was read cannot be stored (a name clash, a value the inventory refuses)."""


ENDPOINT_FIELDS = ("winrm_port", "winrm_https", "winrm_transport", "ca_path", "allow_insecure", "run_as")


def endpoint_settings(endpoint) -> dict:
    """The connection fields of a ManagedEndpoint, to give to another one."""
    return {name: getattr(endpoint, name) for name in ENDPOINT_FIELDS}


def node_settings(settings: dict, allow_insecure: bool = False) -> dict:
    """How a node found through its cluster is reached: like the cluster, but never insecurely.

    The cluster reported the node's address; "Allow insecure" was granted to the cluster's address
    only. When the cluster is reached over plain HTTP or Basic, the node gets HTTPS and NTLM until an
    administrator decides otherwise on the node itself.
    """
    values = dict(settings, allow_insecure=allow_insecure)
    if allow_insecure:
        return values  # the node's own setting, made by an administrator on the node
    if not values["winrm_https"]:
        values.update(winrm_https=True, winrm_port=5986)
    if values["winrm_transport"] == WinRMTransport.BASIC:
        values["winrm_transport"] = WinRMTransport.NTLM
    return values


def validated_save(obj, what: str):
    """full_clean (field validators, the insecure-connection rule) then save; InventoryError if refused."""
    try:
        obj.full_clean(validate_unique=False)
    except ValidationError as exc:
        problems = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
        raise InventoryError(f"{what} cannot be saved: {problems}") from None
    obj.save()
    return obj


WITNESS_RESOURCE_TYPES = {"physical disk": WitnessKind.DISK, "file share witness": WitnessKind.FILE_SHARE,
                          "cloud witness": WitnessKind.CLOUD}


def witness_kind(quorum: ClusterQuorum | None) -> str:
    """What Get-ClusterQuorum says about the witness, as the inventory keeps it ("" = not known)."""
    if quorum is None or quorum.quorum_type not in ("Majority", "DiskOnly"):
        return ""
    if quorum.quorum_type == "DiskOnly":
        return WitnessKind.DISK_ONLY
    if not quorum.witness:
        return WitnessKind.NONE
    return WITNESS_RESOURCE_TYPES.get(quorum.witness_type.lower(), WitnessKind.OTHER)


def vm_state(state: str) -> str:
    return state if state in VM_STATES else "Other"


def host_status(node_state: str | None, pending_reboot: bool) -> tuple[str, str]:
    if node_state == NodeState.PAUSED:
        return HostStatus.IN_MAINTENANCE, "Paused in its cluster"
    if pending_reboot:
        return HostStatus.PENDING_REBOOT, "Installed updates wait for a restart"
    if node_state == NodeState.DOWN:
        return HostStatus.RESPONDING, "WinRM answers but the cluster reports the node Down (cluster service stopped?)"
    return HostStatus.RESPONDING, ""


def _management_mac(reading: NodeReading) -> str:
    facts = reading.facts
    index = next((a.interface_index for a in facts.addresses if a.address == reading.address), None)
    adapter = next((a for a in facts.adapters if index is not None and a.index == index), None)
    if adapter is None and index is None:
        alias = next((a.interface_alias for a in facts.addresses if a.address == reading.address), None)
        adapter = next((a for a in facts.adapters if alias and a.name == alias), None)
    return adapter.mac_address if adapter and len(adapter.mac_address) == 17 else ""


def apply_host_facts(host: Host, reading: NodeReading, now) -> None:
    """Fill a Host from a successful reading (status included); the caller saves."""
    facts = reading.facts
    host.os_name = facts.os.caption[:100]
    host.os_version = facts.os.version[:30]
    host.os_build = facts.os.build
    host.memory_bytes = facts.computer.total_memory or host.memory_bytes
    host.cpu_count = facts.computer.logical_processors or host.cpu_count
    if facts.computer.part_of_domain and facts.computer.domain:
        host.fqdn = f"{facts.os.computer_name}.{facts.computer.domain}".lower()[:255]
    if facts.vmhost is not None and facts.vmhost.max_vm_migrations:
        host.live_migration_limit = facts.vmhost.max_vm_migrations
    host.management_mac = _management_mac(reading) or host.management_mac
    node_state = reading.node.state if reading.node else None
    host.node_state = node_state or ""
    host.status, host.status_reason = host_status(node_state, facts.pending_reboot)
    host.last_refreshed = now


def mark_not_responding(host: Host, error, now) -> None:
    host.status = HostStatus.NOT_RESPONDING
    host.status_reason = str(error)[:500]
    host.last_refreshed = now


def _upsert_vms(facts_by_host: list[tuple[Host, list]], cluster: Cluster | None) -> set[str]:
    """Create or update the VMs seen on these hosts; returns the VM ids seen."""
    seen = set()
    for host, vms in facts_by_host:
        for vm in vms:
            seen.add(vm.id.lower())
            VirtualMachine.objects.update_or_create(
                vm_id=vm.id,
                defaults=dict(
                    name=vm.name[:200], host=host, cluster=cluster, state=vm_state(vm.state),
                    memory_bytes=vm.memory_assigned or vm.memory_startup, cpu_count=max(1, vm.processor_count),
                    highly_available=vm.is_clustered, storage_path=(vm.path or "")[:500],
                ),
            )
    return seen


@transaction.atomic
def store_cluster(reading: ClusterReading, *, settings: dict, host_group: HostGroup | None,
                  address: str | None = None, cluster: Cluster | None = None) -> Cluster:
    """Create or update the cluster, its nodes, their VMs and (SOFS) shares from `reading`.

    settings: connection fields (ENDPOINT_FIELDS) to set on the cluster and its known nodes: the
    operator's choice when adding; empty on a refresh. New nodes get the cluster's.
    """
    now = timezone.now()
    info = reading.info
    if cluster is None:
        cluster = Cluster.objects.select_for_update().filter(name__iexact=info.name).first()
    if cluster is None:
        cluster = Cluster(name=info.name, host_group=host_group or HostGroup.root())
    elif host_group is not None:
        cluster.host_group = host_group
    for key, value in settings.items():
        setattr(cluster, key, value)
    cluster.name = info.name
    cluster.address = address or cluster.address or reading.answered_by
    cluster.kind = ClusterKind.SOFS if reading.kind == "sofs" else ClusterKind.HYPERV
    if info.domain:
        cluster.fqdn = f"{info.name}.{info.domain}".lower()
    cluster.functional_level = info.functional_level
    cluster.upgrade_version = info.upgrade_version
    cluster.witness_kind = witness_kind(reading.quorum)
    cluster.witness_name = reading.quorum.witness[:200] if cluster.witness_kind else ""
    cluster.witness_state = reading.quorum.witness_state[:20] if cluster.witness_kind else ""
    cluster.last_refreshed = now
    validated_save(cluster, f"Cluster {info.name}")

    hosts = {}
    for node_reading in reading.nodes:
        node = node_reading.node
        host = Host.objects.select_for_update().filter(name__iexact=node.name).first()
        if host is None:
            host = Host(name=node.name, host_group=cluster.host_group, address=node_reading.address)
            for key, value in node_settings(endpoint_settings(cluster)).items():
                setattr(host, key, value)
        else:
            for key, value in (node_settings(settings, host.allow_insecure) if settings else {}).items():
                setattr(host, key, value)
            if host_group is not None:
                host.host_group = cluster.host_group
        host.cluster = cluster  # a node belongs to one cluster at a time: the one that lists it
        if node_reading.facts is not None:
            host.address = node_reading.address
            apply_host_facts(host, node_reading, now)
        elif node_reading.error is not None:
            host.node_state = node.state
            mark_not_responding(host, node_reading.error, now)
        else:
            host.node_state = node.state
            if host.status != HostStatus.NOT_RESPONDING:
                host.status, host.status_reason = host_status(node.state, host.status == HostStatus.PENDING_REBOOT)
        if not host.os_build and node.build_number:
            host.os_build = node.build_number
        hosts[node.name.lower()] = validated_save(host, f"Host {node.name}")

    # Nodes evicted since the last reading stay as standalone hosts.
    Host.objects.filter(cluster=cluster).exclude(pk__in=[h.pk for h in hosts.values()]).update(
        cluster=None, node_state="")

    # Mixed mode: nodes on different releases, or all newer than the functional level (not raised yet).
    if is_mixed_mode(cluster.functional_level, [h.os_build for h in hosts.values() if h.os_build]):
        cluster.mixed_mode_since = cluster.mixed_mode_since or now
    else:
        cluster.mixed_mode_since = None
    cluster.save(update_fields=["mixed_mode_since"])

    if reading.kind == "hyperv":
        _store_cluster_vms(reading, cluster, hosts)
    if reading.shares is not None:
        _store_shares(reading, cluster)
    return cluster


def _store_cluster_vms(reading: ClusterReading, cluster: Cluster, hosts: dict) -> None:
    answered = [(hosts[r.node.name.lower()], r.facts.vms or []) for r in reading.nodes if r.facts is not None]
    seen = _upsert_vms(answered, cluster)
    # A clustered VM whose owner did not answer: place it by its cluster group's owner.
    for group in reading.groups:
        if group.group_type != "VirtualMachine":
            continue
        owner = hosts.get(group.owner_node.lower())
        vm = VirtualMachine.objects.filter(cluster=cluster, name=group.name).exclude(vm_id__in=list(seen)).first()
        if vm is None or owner is None:
            continue
        vm.host = owner
        vm.state = GROUP_TO_VM_STATE.get(group.state, vm.state)
        vm.save(update_fields=["host", "state"])
        seen.add(str(vm.vm_id).lower())
    answered_ids = [h.pk for h, _ in answered]
    group_names = {g.name for g in reading.groups if g.group_type == "VirtualMachine"}
    gone = VirtualMachine.objects.filter(cluster=cluster, host_id__in=answered_ids).exclude(name__in=group_names)
    if reading.complete:
        gone = VirtualMachine.objects.filter(cluster=cluster).exclude(name__in=group_names)
    for vm in gone:
        if str(vm.vm_id).lower() not in seen:
            vm.delete()


def _store_shares(reading: ClusterReading, cluster: Cluster) -> None:
    keep = []
    for share in reading.shares:
        obj, _ = FileShare.objects.update_or_create(
            cluster=cluster, scope_name=share.scope_name[:100], name=share.name[:100],
            defaults=dict(path=share.path[:500], continuously_available=share.continuously_available,
                          state=share.state[:20]),
        )
        keep.append(obj.pk)
    FileShare.objects.filter(cluster=cluster).exclude(pk__in=keep).delete()


@transaction.atomic
def store_host(reading: NodeReading, *, settings: dict, host_group: HostGroup | None,
               host: Host | None = None) -> Host:
    """Create or update a standalone host (or one node alone) and its VMs from a reading."""
    now = timezone.now()
    facts = reading.facts
    name = facts.os.computer_name if facts else host.name
    if host is None:
        host = Host.objects.select_for_update().filter(name__iexact=name).first()
    if host is None:
        host = Host(name=name, host_group=host_group or HostGroup.root())
    elif host_group is not None:
        host.host_group = host_group
    for key, value in settings.items():
        setattr(host, key, value)
    host.address = reading.address
    if facts is None:
        mark_not_responding(host, reading.error, now)
        return validated_save(host, f"Host {name}")
    node_state = host.node_state if host.cluster_id else None
    apply_host_facts(host, reading, now)
    if node_state:
        host.node_state = node_state
        host.status, host.status_reason = host_status(node_state, facts.pending_reboot)
    validated_save(host, f"Host {name}")
    if facts.vms is not None:
        seen = _upsert_vms([(host, facts.vms)], host.cluster)
        if host.cluster_id is None:
            for vm in VirtualMachine.objects.filter(host=host):
                if str(vm.vm_id).lower() not in seen:
                    vm.delete()
        else:
            VirtualMachine.objects.filter(host=host).exclude(vm_id__in=list(seen)).update(host=None)
    return host
