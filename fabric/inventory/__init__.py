"""The inventory kept in step with the machines: discovery (adding) and refresh (re-reading).

    from fabric.inventory import discover_cluster, discover_host, refresh_cluster, refresh_host
"""
from fabric.inventory.collect import NotACluster
from fabric.inventory.discovery import (
    add_deployment_server,
    add_update_server,
    connection_settings,
    discover_cluster,
    discover_host,
)
from fabric.inventory.library import refresh_deployment_server
from fabric.inventory.refresh import refresh_all, refresh_cluster, refresh_host
from fabric.inventory.store import InventoryError

__all__ = [
    "InventoryError", "NotACluster", "add_deployment_server", "add_update_server", "connection_settings",
    "discover_cluster", "discover_host", "refresh_all", "refresh_cluster", "refresh_deployment_server",
    "refresh_host",
]
