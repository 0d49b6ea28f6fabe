"""Keeping the inventory current: ask the machines again and record what changed behind Ferry's back.

A refresh never deletes a host because it is silent: a host that does not answer is marked Not
Responding with the reason. Each function returns the problems it met (empty when all answered).
"""
import logging

from django.db import transaction
from django.utils import timezone

from fabric import agents
from fabric.choices import HostStatus
from fabric.inventory.collect import NodeReading, read_cluster, read_host
from fabric.inventory.library import refresh_deployment_server
from fabric.inventory.store import mark_not_responding, store_cluster, store_host
from fabric.models import Cluster, DeploymentServer, Host

log = logging.getLogger(__name__)


def refresh_cluster(cluster: Cluster, *, only_hosts: set[str] | None = None) -> list[str]:
    """Node states, functional level, VMs and owners, OS of every node (or of `only_hosts`)."""
    nodes = list(cluster.nodes.all())
    conn = agents.Connection.for_endpoint(cluster)
    # The cluster answers through any node: try its address, then the nodes that answered last time.
    order = sorted(nodes, key=lambda h: h.status == HostStatus.NOT_RESPONDING)
    try:
        reading = read_cluster(conn, kind=cluster.kind, fallbacks=[h.address for h in order],
                               known_addresses={h.name: h.address for h in nodes},
                               only_nodes={n.lower() for n in only_hosts} if only_hosts else None)
    except agents.AgentError as error:
        log.info("cluster %s did not answer: %s", cluster.name, error)
        now = timezone.now()
        with transaction.atomic():
            for host in nodes:
                if only_hosts is None or host.name.lower() in {n.lower() for n in only_hosts}:
                    mark_not_responding(host, error, now)
                    host.save(update_fields=["status", "status_reason", "last_refreshed"])
        return [f"{cluster.name}: {error}"]
    store_cluster(reading, settings={}, host_group=None, cluster=cluster)
    return reading.warnings


def refresh_host(host: Host, *, hyperv: bool = True) -> list[str]:
    """Refresh one host. A cluster node is refreshed with its cluster's view (node state, VM owners).
    `hyperv=False` for a host without the Hyper-V role (a file server's node out of its cluster)."""
    if host.cluster_id:
        return refresh_cluster(host.cluster, only_hosts={host.name})
    try:
        facts = read_host(agents.Connection.for_endpoint(host), hyperv=hyperv)
    except agents.AgentError as error:
        mark_not_responding(host, error, timezone.now())
        host.save(update_fields=["status", "status_reason", "last_refreshed"])
        return [f"{host.name}: {error}"]
    store_host(NodeReading(None, host.address, facts=facts), settings={}, host_group=None, host=host)
    return []


def refresh_all() -> dict[str, list[str]]:
    """Every cluster, then every standalone host, then the deployment servers' install images (into
    the library); returns the problems per name."""
    problems = {}
    for cluster in Cluster.objects.all():
        problems[cluster.name] = _guarded(refresh_cluster, cluster)
    for host in Host.objects.filter(cluster__isnull=True):
        problems[host.name] = _guarded(refresh_host, host)
    for server in DeploymentServer.objects.all():
        problems[server.name] = _guarded(_refresh_library, server)
    return {name: found for name, found in problems.items() if found}


def _refresh_library(server: DeploymentServer) -> list[str]:
    """A server's image list: what it says about kept or skipped images is logged, not a failure."""
    for warning in refresh_deployment_server(server):
        log.warning("%s: %s", server.name, warning)
    return []


def _guarded(refresh, target) -> list[str]:
    """One target's failure (even an unexpected one) must not stop the others from refreshing."""
    try:
        return refresh(target)
    except Exception as exc:  # noqa: BLE001 - logged with its traceback, reported, and the loop goes on
        log.exception("refreshing %s failed", target)
        return [f"{target}: {type(exc).__name__}: {exc}"]
