"""Reading a cluster or a host from the machines, before anything is written to the database.

Everything here only asks; fabric.inventory.store decides what to save. A discovery that fails
part-way therefore leaves the database as it was.
"""
import ipaddress
import logging
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from fabric import agents
from fabric.agents.cluster import ClusterGroup, ClusterInfo, ClusterNode, ClusterQuorum, NetworkInterface
from fabric.agents.hostinfo import HostFacts
from fabric.agents.storage import SmbShare

log = logging.getLogger(__name__)

PARALLEL_HOSTS = 8
_MANAGEMENT_WORDS = ("manage", "mgmt", "admin")


class NotACluster(agents.AgentError):
    """The address answered, but it is not a failover cluster node."""


@dataclass
class NodeReading:
    node: ClusterNode | None  # None for a standalone host
    address: str  # the management address Ferry uses for it
    facts: HostFacts | None = None
    error: agents.AgentError | None = None

    @property
    def responding(self) -> bool:
        return self.facts is not None


@dataclass
class ClusterReading:
    info: ClusterInfo
    kind: str  # "hyperv" or "sofs"
    nodes: list[NodeReading]
    groups: list[ClusterGroup]
    interfaces: list[NetworkInterface]
    shares: list[SmbShare] | None = None  # SOFS only
    answered_by: str = ""  # the address that answered the cluster queries
    warnings: list[str] = field(default_factory=list)
    quorum: ClusterQuorum | None = None  # None: Get-ClusterQuorum could not be read (no witness counted)

    @property
    def complete(self) -> bool:
        """Every node answered: what was not seen anywhere is really gone."""
        return all(n.responding for n in self.nodes)


def _resolve(address: str) -> set[str]:
    try:
        ipaddress.ip_address(address)
        return {address}
    except ValueError:
        pass
    try:
        return {info[4][0] for info in socket.getaddrinfo(address, None)}
    except OSError:
        return set()


def management_addresses(connected_to: str, nodes: list[ClusterNode],
                         interfaces: list[NetworkInterface]) -> dict[str, str]:
    """Which address Ferry should use for each node, from Get-ClusterNetworkInterface.

    The cluster network that carries the address the operator gave (a node's address) is the
    management network; otherwise a network named like one ("Management"); otherwise the first
    network every node has an address on. A node without one there is reached by its name.
    """
    with_address = [i for i in interfaces if i.address]
    networks: list[str] = []
    for interface in with_address:
        if interface.network not in networks:
            networks.append(interface.network)
    chosen = None
    targets = _resolve(connected_to)
    for interface in with_address:
        if interface.address in targets:
            chosen = interface.network
            break
    if chosen is None:
        named = [n for n in networks if any(w in n.lower() for w in _MANAGEMENT_WORDS)]
        node_names = {n.name.lower() for n in nodes}
        full = [n for n in networks if {i.node.lower() for i in with_address if i.network == n} >= node_names]
        chosen = (named or full or networks or [None])[0]
    result = {}
    for node in nodes:
        match = next((i.address for i in with_address
                      if i.node.lower() == node.name.lower() and i.network == chosen), None)
        result[node.name] = match or node.name
    return result


def cluster_kind(groups: list[ClusterGroup]) -> str:
    return "sofs" if any(g.group_type == "ScaleoutFileServer" for g in groups) else "hyperv"


def read_host(conn: agents.Connection, *, hyperv: bool = True) -> HostFacts:
    return agents.hostinfo.get_host_facts(conn, hyperv=hyperv)


def _read_nodes(conn: agents.Connection, targets: list[tuple[ClusterNode | None, str]], hyperv: bool,
                domain: str = "") -> list[NodeReading]:
    def one(item):
        node, address = item
        # Kerberos names each node by its DNS name (node name in the cluster's domain)
        fqdn = f"{node.name}.{domain}".lower() if node and domain else None
        try:
            return NodeReading(node, address, facts=read_host(conn.with_address(address, fqdn), hyperv=hyperv))
        except agents.AgentError as error:
            log.info("node %s (%s) did not answer: %s", node.name if node else address, address, error)
            return NodeReading(node, address, error=error)

    if len(targets) <= 1:
        return [one(t) for t in targets]
    with ThreadPoolExecutor(max_workers=min(PARALLEL_HOSTS, len(targets))) as pool:
        return list(pool.map(one, targets))


def read_cluster(conn: agents.Connection, *, kind: str | None = None, fallbacks: list[str] = (),
                 known_addresses: dict[str, str] | None = None, only_nodes: set[str] | None = None) -> ClusterReading:
    """Ask the cluster (at conn.address, else at each fallback address) and then each of its nodes.

    known_addresses: node name → address already on record (kept, so an operator's choice stays).
    only_nodes: read host facts for these nodes only (the others keep their last reading).
    """
    inventory, answered_by, first_error = None, "", None
    for address in [conn.address, *[a for a in fallbacks if a != conn.address]]:
        try:
            inventory = agents.cluster.cluster_inventory(conn.with_address(address))
            answered_by = address
            break
        except agents.CmdletError as error:
            fqid = error.fqid.lower()
            if fqid.startswith("commandnotfoundexception") or "clusternotfound" in fqid:
                raise NotACluster(
                    f"{conn.where} is not a node of a failover cluster ({error.ps_message}). Add a standalone host "
                    f"with add_host instead, or give the address of a cluster node.",
                    target=conn.where, operation="Get-Cluster",
                ) from error
            raise
        except (agents.Unreachable, agents.OperationTimeout, agents.ProtocolError) as error:
            first_error = first_error or error
            continue
    if inventory is None:
        raise first_error
    info, nodes, groups, interfaces = (inventory["cluster"], inventory["nodes"], inventory["groups"],
                                       inventory["interfaces"])
    detected = cluster_kind(groups)
    warnings = []
    if kind and kind != detected:
        warnings.append(f"{info.name} was added as {kind} but its roles look like {detected}.")
    kind = kind or detected
    derived = management_addresses(answered_by, nodes, interfaces)
    known = {k.lower(): v for k, v in (known_addresses or {}).items()}
    targets = [(n, known.get(n.name.lower()) or derived[n.name]) for n in nodes]
    wanted = [t for t in targets if only_nodes is None or t[0].name.lower() in only_nodes]
    readings = {r.node.name: r for r in _read_nodes(conn, wanted, hyperv=(kind == "hyperv"), domain=info.domain)}
    node_readings = [readings.get(n.name) or NodeReading(n, a) for n, a in targets]
    shares = None
    if kind == "sofs":
        shares = [s for s in agents.storage.get_smb_shares(conn.with_address(answered_by))
                  if s.is_scale_out or s.scope_name not in ("*", "")]
    for reading in node_readings:
        if reading.error is not None:
            warnings.append(f"{reading.node.name}: {reading.error}")
    if inventory["quorum"] is None:
        warnings.append(f"The quorum configuration of {info.name} could not be read ({inventory['quorum_error']}): "
                        "no witness vote is counted until a refresh reads it.")
    return ClusterReading(info=info, kind=kind, nodes=node_readings, groups=groups, interfaces=interfaces,
                          shares=shares, answered_by=answered_by, warnings=warnings, quorum=inventory["quorum"])
