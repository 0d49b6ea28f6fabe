"""Reading topology TOML strictly: an unknown key, a wrong type or a dangling reference is an
error naming the file and the place, so a typo never silently becomes a default."""
from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import re
import tomllib
import uuid
from pathlib import Path

from lab.topology.specs import (
    FAULT_KINDS,
    HOST_DEFAULTS,
    HOST_ROLES,
    OS_RELEASES,
    STOP_ACTIONS,
    TIMING_KEYS,
    TRANSPORTS,
    VM_STATES,
    WITNESS_TYPES,
    ClusterSpec,
    CsvSpec,
    DiskSpec,
    HostSpec,
    ImageSpec,
    NicSpec,
    OsRelease,
    ShareSpec,
    Topology,
    TopologyError,
    UpdateSpec,
    VmSpec,
)


class _Table:
    """Reads one TOML table, remembering which keys were used so leftovers can be reported."""

    def __init__(self, data, where: str):
        if not isinstance(data, dict):
            raise TopologyError(f"{where}: expected a table, got {type(data).__name__}")
        self.data = data
        self.where = where
        self.used: set[str] = set()

    def get(self, key, kind, default=dataclasses.MISSING):
        self.used.add(key)
        if key not in self.data:
            if default is dataclasses.MISSING:
                raise TopologyError(f"{self.where}: missing required key '{key}'")
            return default
        value = self.data[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if kind is not None and not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            expected = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise TopologyError(f"{self.child(key)}: expected {expected}, got {value!r}")
        return value

    def positive(self, key, default=dataclasses.MISSING, kind=float):
        value = self.get(key, kind, default)
        if value is not None and value <= 0:
            raise TopologyError(f"{self.child(key)}: must be greater than 0, got {value!r}")
        return value

    def tables(self, key) -> list[_Table]:
        items = self.get(key, list, [])
        return [_Table(item, f"{self.child(key)}[{i}]") for i, item in enumerate(items)]

    def child(self, key: str) -> str:
        return f"{self.where} {key}" if self.where.endswith(":") else f"{self.where}.{key}"

    def strings(self, key, default=()):
        items = self.get(key, list, list(default))
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise TopologyError(f"{self.child(key)}[{i}]: expected a string, got {item!r}")
        return list(items)

    def finish(self):
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise TopologyError(f"{self.where}: unknown key(s) {', '.join(unknown)}")


_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,14}$")
_MAC_RE = re.compile(r"^([0-9A-Fa-f]{2}[-:]){5}[0-9A-Fa-f]{2}$")


def normalize_mac(mac: str) -> str:
    """'00:15:5d:0a:00:01' or '00155D0A0001' → '00-15-5D-0A-00-01' (how Windows writes a MAC)."""
    digits = re.sub(r"[^0-9A-Fa-f]", "", mac).upper()[-12:]
    return "-".join(digits[i:i + 2] for i in range(0, 12, 2))


def _computer_name(value: str, where: str) -> str:
    if not _NAME_RE.match(value):
        raise TopologyError(f"{where}: '{value}' is not a valid computer name (1-15 letters, digits, '-')")
    return value


def _os(value: str, where: str) -> OsRelease:
    release = OS_RELEASES.get(str(value))
    if release is None:
        raise TopologyError(f"{where}: unknown OS '{value}' (one of {', '.join(OS_RELEASES)})")
    return release


def _choice(value, choices, where):
    if value not in choices:
        raise TopologyError(f"{where}: '{value}' is not one of {', '.join(map(str, choices))}")
    return value


def _stable_uuid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "ferry-lab:" + ":".join(parts)))


def _stable_mac(index: int) -> str:
    return normalize_mac(f"00155D{(index >> 16) & 0xFF:02X}{(index >> 8) & 0xFF:02X}{index & 0xFF:02X}")


class _Loader:
    def __init__(self, data: dict, path: str):
        self.path = path
        self.root = _Table(data, Path(path).name + ":")
        self.defaults = dict(HOST_DEFAULTS)
        self.host_count = 0

    def load(self) -> Topology:
        root = self.root
        lab = _Table(root.get("lab", dict, {}), f"{root.where} [lab]")
        name = lab.get("name", str, Path(self.path).stem)
        domain = lab.get("domain", str, "contoso.com")
        netbios = lab.get("netbios_domain", str, domain.split(".")[0].upper())
        speed = lab.positive("speed", 1.0)
        grace = lab.positive("paused_vm_grace_seconds", 120.0)
        lab.finish()

        defaults = _Table(root.get("defaults", dict, {}), f"{root.where} [defaults]")
        for key, value in HOST_DEFAULTS.items():
            kind = float if isinstance(value, float) else type(value)
            self.defaults[key] = defaults.get(key, kind, value)
        defaults.finish()
        self._check_host_values(self.defaults, defaults.where)

        hosts: list[HostSpec] = []
        clusters: list[ClusterSpec] = []
        for table in root.tables("clusters"):
            cluster, nodes = self._cluster(table)
            clusters.append(cluster)
            hosts.extend(nodes)
        for table in root.tables("hosts"):
            hosts.append(self._host(table, role_default="hyperv", cluster=None))

        update_server = None
        wsus_port = 8530
        if "update_server" in root.data:
            table = _Table(root.get("update_server", dict), f"{root.where} [update_server]")
            wsus_port = table.get("port", int, 8530)
            table.used.add("port")
            host = self._host(table, role_default="wsus", cluster=None, fixed_role="wsus")
            hosts.append(host)
            update_server = host.name
        else:
            root.used.add("update_server")

        deployment_server = None
        remote_install = "D:\\RemoteInstall"
        images: list[ImageSpec] = []
        if "deployment_server" in root.data:
            table = _Table(root.get("deployment_server", dict), f"{root.where} [deployment_server]")
            remote_install = table.get("remote_install", str, remote_install).rstrip("\\")
            for image in table.tables("images"):
                images.append(ImageSpec(
                    name=image.get("name", str), os=_os(image.get("os", str), f"{image.where}.os"),
                    group=image.get("group", str, "Images"), file=image.get("file", str, "install.wim"),
                    imported=image.get("imported", bool, True)))
                image.finish()
            host = self._host(table, role_default="deployment", cluster=None, fixed_role="deployment")
            hosts.append(host)
            deployment_server = host.name
        else:
            root.used.add("deployment_server")

        updates = [self._update(t) for t in root.tables("updates")]
        directory = _Table(root.get("directory", dict, {}), f"{root.where} [directory]")
        taken = directory.strings("taken_names")
        directory.finish()
        faults = []
        for table in root.tables("faults"):
            fault = dict(table.data)
            _choice(fault.get("kind"), FAULT_KINDS, f"{table.where}.kind")
            faults.append(fault)
        root.finish()

        topology = Topology(
            name=name, path=self.path, domain=domain, netbios_domain=netbios, speed=speed,
            hosts=hosts, clusters=clusters, updates=updates, update_server=update_server,
            wsus_port=wsus_port, deployment_server=deployment_server, remote_install=remote_install,
            images=images, taken_names=taken, faults=faults, paused_vm_grace_seconds=grace)
        _validate(topology)
        return topology

    def _check_host_values(self, values, where):
        _os(values["os"], f"{where}.os")
        _choice(values["winrm_transport"], TRANSPORTS, f"{where}.winrm_transport")
        for key in ("memory_gb", "migration_bandwidth_gbps", "cpus", "max_migrations", *TIMING_KEYS):
            if values[key] <= 0:
                raise TopologyError(f"{where}.{key}: must be greater than 0, got {values[key]!r}")

    def _host(self, t: _Table, role_default: str, cluster: str | None, fixed_role: str | None = None) -> HostSpec:
        self.host_count += 1
        index = self.host_count
        name = _computer_name(t.get("name", str), f"{t.where}.name")
        t.where = f"{t.where} ({name})"
        values = {}
        for key, value in self.defaults.items():
            kind = float if isinstance(value, float) else type(value)
            values[key] = t.get(key, kind, value)
        self._check_host_values(values, t.where)
        role = fixed_role or _choice(t.get("role", str, role_default), HOST_ROLES, f"{t.where}.role")
        nics = []
        nic_tables = t.tables("nics") or [_Table({}, f"{t.where}.nics[0]")]
        for i, n in enumerate(nic_tables):
            mac = n.get("mac", str, _stable_mac(index * 8 + i))
            if not _MAC_RE.match(mac):
                raise TopologyError(f"{n.where}.mac: '{mac}' is not a MAC address like 00-15-5D-0A-00-01")
            ip = n.get("ip", str, None)
            if ip is not None:
                try:
                    ipaddress.IPv4Address(ip)
                except ValueError:
                    raise TopologyError(f"{n.where}.ip: '{ip}' is not an IPv4 address") from None
            nics.append(NicSpec(
                name=n.get("name", str, "Ethernet" if i == 0 else f"Ethernet {i + 1}"),
                mac=normalize_mac(mac), ip=ip, prefix_length=n.get("prefix_length", int, 24),
                gateway=n.get("gateway", str, None), dns=n.strings("dns"),
                link_speed_gbps=n.positive("link_speed_gbps", 10.0)))
            n.finish()
        disks = []
        disk_tables = t.tables("disks") or [_Table({"friendly_name": "Boot Disk", "size_gb": 480.0,
                                                     "is_boot": True, "is_system": True},
                                                    f"{t.where}.disks[0]")]
        for i, d in enumerate(disk_tables):
            disks.append(DiskSpec(
                number=d.get("number", int, i), friendly_name=d.get("friendly_name", str),
                size_gb=d.positive("size_gb"), bus_type=d.get("bus_type", str, "SAS"),
                partition_style=d.get("partition_style", str, "GPT"),
                is_boot=d.get("is_boot", bool, False), is_system=d.get("is_system", bool, False),
                is_clustered=d.get("is_clustered", bool, False),
                serial_number=d.get("serial_number", str, f"S{index:04d}D{i}")))
            d.finish()
        installed = t.strings("installed_updates", ()) if "installed_updates" in t.data else None
        missing = t.strings("missing_updates")
        if installed is not None and missing:
            raise TopologyError(f"{t.where}: give installed_updates or missing_updates, not both")
        vms = [self._vm(v, default_owner=name, cluster=None) for v in t.tables("vms")]
        t.finish()
        return HostSpec(
            name=name, role=role, os=_os(values["os"], t.where), memory_gb=values["memory_gb"],
            cpus=values["cpus"], nics=nics, disks=disks,
            migration_bandwidth_gbps=values["migration_bandwidth_gbps"],
            max_migrations=values["max_migrations"], winrm_username=values["winrm_username"],
            winrm_password=values["winrm_password"], winrm_transport=values["winrm_transport"],
            https=values["https"], credssp=values["credssp"],
            trusted_for_delegation=values["trusted_for_delegation"],
            bmc=values["bmc"], bmc_username=values["bmc_username"],
            bmc_password=values["bmc_password"], timings={k: values[k] for k in TIMING_KEYS},
            manufacturer=values["manufacturer"], model=values["model"],
            serial_number=f"CZ{index:06d}", installed_updates=installed, missing_updates=missing,
            cluster=cluster, vms=vms)

    def _vm(self, v: _Table, default_owner: str | None, cluster: str | None) -> VmSpec:
        name = v.get("name", str)
        v.where = f"{v.where} ({name})"
        owner = v.get("owner", str, default_owner)
        if owner is None:
            raise TopologyError(f"{v.where}: missing required key 'owner' (a node of {cluster})")
        spec = VmSpec(
            name=name, owner=owner, memory_gb=v.positive("memory_gb"), cpus=v.positive("cpus", 2, int),
            state=_choice(v.get("state", str, "Running"), VM_STATES, f"{v.where}.state"),
            highly_available=v.get("highly_available", bool, cluster is not None),
            generation=_choice(v.get("generation", int, 2), (1, 2), f"{v.where}.generation"),
            automatic_stop_action=_choice(v.get("automatic_stop_action", str, "Save"), STOP_ACTIONS,
                                          f"{v.where}.automatic_stop_action"),
            id=v.get("id", str, ""), version=v.get("version", str, ""), path=v.get("path", str, ""))
        if spec.path and not (spec.path.startswith("\\\\") or re.match(r"^[A-Za-z]:\\", spec.path)):
            raise TopologyError(
                f"{v.where}.path: '{spec.path}' is neither a local path (C:\\…) nor a share (\\\\server\\share\\…)"
            )
        if spec.version and spec.version not in {r.vm_version for r in OS_RELEASES.values()}:
            raise TopologyError(f"{v.where}.version: '{spec.version}' is not a VM configuration version of these "
                                f"releases ({', '.join(r.vm_version for r in OS_RELEASES.values())})")
        v.finish()
        return spec

    def _cluster(self, t: _Table) -> tuple[ClusterSpec, list[HostSpec]]:
        name = _computer_name(t.get("name", str), f"{t.where}.name")
        t.where = f"{t.where} ({name})"
        kind = _choice(t.get("kind", str, "hyperv"), ("hyperv", "sofs"), f"{t.where}.kind")
        nodes = [self._host(n, role_default=kind, cluster=name, fixed_role=kind) for n in t.tables("nodes")]
        if not nodes:
            raise TopologyError(f"{t.where}: a cluster needs at least one entry in nodes")
        node_names = [n.name for n in nodes]
        lowest = min((n.os for n in nodes), key=lambda r: r.functional_level)
        level = t.get("functional_level", int, lowest.functional_level)
        vms = [self._vm(v, default_owner=None, cluster=name) for v in t.tables("vms")]
        by_lower = {n.name.lower(): n for n in nodes}
        for vm in vms:
            node = by_lower.get(vm.owner.lower())
            if node is None:
                raise TopologyError(f"{t.where}: VM '{vm.name}' has owner '{vm.owner}', "
                                    f"which is not a node of {name} ({', '.join(node_names)})")
            node.vms.append(vm)
        roles = t.strings("sofs_roles")
        shares = []
        for s in t.tables("shares"):
            shares.append(ShareSpec(name=s.get("name", str), path=s.get("path", str),
                                    scope=s.get("scope", str, roles[0] if roles else name),
                                    continuously_available=s.get("continuously_available", bool, True),
                                    description=s.get("description", str, "")))
            s.finish()
        csvs = []
        for i, c in enumerate(t.tables("csvs")):
            owner = c.get("owner", str, node_names[i % len(node_names)])
            if owner.lower() not in by_lower:
                raise TopologyError(f"{c.where}.owner: '{owner}' is not a node of {name}")
            csvs.append(CsvSpec(name=c.get("name", str, f"Cluster Disk {i + 1}"), owner=owner,
                                size_gb=c.positive("size_gb", 4096.0), free_gb=c.get("free_gb", float, 2048.0),
                                id=c.get("id", str, "")))
            c.finish()
        cluster = ClusterSpec(
            name=name, kind=kind, nodes=node_names, functional_level=level,
            winrm_username=t.get("winrm_username", str, self.defaults["winrm_username"]),
            winrm_password=t.get("winrm_password", str, self.defaults["winrm_password"]),
            winrm_transport=_choice(t.get("winrm_transport", str, self.defaults["winrm_transport"]),
                                    TRANSPORTS, f"{t.where}.winrm_transport"),
            witness=t.get("witness", bool, False),
            witness_type=_choice(t.get("witness_type", str, "file_share"), WITNESS_TYPES, f"{t.where}.witness_type"),
            credssp=t.get("credssp", bool, self.defaults["credssp"]),
            trusted_for_delegation=t.get("trusted_for_delegation", bool, self.defaults["trusted_for_delegation"]),
            sofs_roles=roles,
            shares=shares, csvs=csvs, id=t.get("id", str, ""), s2d=t.get("s2d", bool, False),
            resync_ratio=t.positive("resync_ratio", 0.5),
            resync_min_seconds=t.get("resync_min_seconds", float, 0.0))
        if "witness_type" in t.data and not cluster.witness:
            raise TopologyError(f"{t.where}.witness_type: only with witness = true")
        if cluster.s2d and not csvs:
            raise TopologyError(f"{t.where}: s2d = true needs csvs (a virtual disk backs each one)")
        if kind == "sofs" and not roles:
            raise TopologyError(f"{t.where}: a SOFS cluster needs sofs_roles (the access point names)")
        if kind == "hyperv" and roles:
            raise TopologyError(f"{t.where}: sofs_roles only apply to kind = \"sofs\"")
        t.finish()
        return cluster, nodes

    def _update(self, t: _Table) -> UpdateSpec:
        kb = str(t.get("kb", (str, int))).upper().removeprefix("KB")
        t.where = f"{t.where} (KB{kb})"
        applies = t.strings("applies_to")
        for os_key in applies:
            _os(os_key, f"{t.where}.applies_to")
        if not applies:
            raise TopologyError(f"{t.where}.applies_to: name at least one OS (e.g. [\"2019\"])")
        released = t.get("release_date", (dt.date, str))
        if isinstance(released, str):
            try:
                released = dt.date.fromisoformat(released)
            except ValueError:
                raise TopologyError(f"{t.where}.release_date: '{released}' is not a date") from None
        spec = UpdateSpec(
            id=t.get("id", str, _stable_uuid("update", kb)), kb=kb, title=t.get("title", str),
            classification=t.get("classification", str, "Security Updates"),
            severity=t.get("severity", str, ""), release_date=released,
            reboot_required=t.get("reboot_required", bool, True), applies_to=applies,
            superseded_by=t.strings("superseded_by"), description=t.get("description", str, ""),
            approved=t.get("approved", bool, True), declined=t.get("declined", bool, False),
            revision=t.get("revision", int, 200))
        t.finish()
        return spec


def _validate(topology: Topology) -> None:
    where = Path(topology.path).name
    seen: dict[str, str] = {}
    for host in topology.hosts:
        key = host.name.lower()
        if key in seen:
            raise TopologyError(f"{where}: computer name '{host.name}' is used twice")
        seen[key] = host.name
    for cluster in topology.clusters:
        if cluster.name.lower() in seen:
            raise TopologyError(f"{where}: cluster name '{cluster.name}' is also a computer name")
        seen[cluster.name.lower()] = cluster.name
    macs: dict[str, str] = {}
    for host in topology.hosts:
        for nic in host.nics:
            if nic.mac in macs:
                raise TopologyError(f"{where}: MAC {nic.mac} of {host.name} is also on {macs[nic.mac]}")
            macs[nic.mac] = host.name
    known_updates = {u.id.lower(): u for u in topology.updates} | {u.kb: u for u in topology.updates}
    for update in topology.updates:
        for other in update.superseded_by:
            if other.lower() not in known_updates and other.upper().removeprefix("KB") not in known_updates:
                raise TopologyError(f"{where}: update KB{update.kb} is superseded by unknown '{other}'")
    vm_names: dict[str, str] = {}
    for host in topology.hosts:
        for ref in (host.installed_updates or []) + host.missing_updates:
            if ref.lower() not in known_updates and ref.upper().removeprefix("KB") not in known_updates:
                raise TopologyError(f"{where}: host {host.name} names unknown update '{ref}'")
        if host.vms and host.role != "hyperv":
            raise TopologyError(f"{where}: host {host.name} has VMs but role '{host.role}' runs no Hyper-V")
        running = sum(vm.memory_gb for vm in host.vms if vm.state in ("Running", "Paused"))
        if running > host.memory_gb:
            raise TopologyError(f"{where}: host {host.name} runs VMs needing {running:g} GB "
                                f"but has {host.memory_gb:g} GB of memory")
        for vm in host.vms:
            if vm.name.lower() in vm_names:
                raise TopologyError(f"{where}: VM name '{vm.name}' is used on {vm_names[vm.name.lower()]} "
                                    f"and {host.name}")
            vm_names[vm.name.lower()] = host.name
    for cluster in topology.clusters:
        levels = {topology.host(n).os.functional_level for n in cluster.nodes}
        if max(levels) - min(levels) > 1:
            raise TopologyError(f"{where}: cluster {cluster.name} mixes OS versions more than one apart")
        if cluster.functional_level > min(levels):
            raise TopologyError(f"{where}: cluster {cluster.name} functional level {cluster.functional_level} "
                                f"is above what its oldest node supports ({min(levels)})")
    for fault in topology.faults:
        target = fault.get("host")
        if target is not None and target.lower() not in seen:
            raise TopologyError(f"{where}: fault {fault['kind']} names unknown host '{target}'")
        if fault.get("vm") is not None and fault["vm"].lower() not in vm_names:
            raise TopologyError(f"{where}: fault {fault['kind']} names unknown VM '{fault['vm']}'")


def load_topology(path: str | Path) -> Topology:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TopologyError(f"topology file {path} does not exist") from None
    except tomllib.TOMLDecodeError as error:
        raise TopologyError(f"{path.name}: not valid TOML: {error}") from None
    return _Loader(data, str(path)).load()


def loads_topology(text: str, name: str = "topology.toml") -> Topology:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise TopologyError(f"{name}: not valid TOML: {error}") from None
    return _Loader(data, name).load()
