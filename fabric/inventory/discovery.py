"""Adding machines to the fabric by discovering them: an address and a Run As account are enough.

The same functions serve the pages, the command line, the jobs and the demo. Machines are only
asked questions here; the database changes in one transaction at the end, so a failure (wrong
password, unreachable address, unreadable answer) leaves everything as it was.
"""
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core.audit import AuditAction, record
from fabric import agents
from fabric.inventory.collect import NodeReading, read_cluster, read_host
from fabric.inventory.library import store_install_images
from fabric.inventory.store import InventoryError, store_cluster, store_host, validated_save
from fabric.models import Cluster, DeploymentServer, Host, HostGroup, RunAsAccount
from fabric.models.validators import validate_host_address

TRANSPORTS = ("ntlm", "kerberos", "credssp", "basic")


def connection_settings(run_as: RunAsAccount, *, port: int | None = None, https: bool = True,
                        transport: str = "ntlm", ca_path: str = "", allow_insecure: bool = False) -> dict:
    """The ManagedEndpoint connection fields for what is being added."""
    if not isinstance(run_as, RunAsAccount):
        raise InventoryError("Choose the Run As account Ferry uses to reach the machine.")
    if transport not in TRANSPORTS:
        raise InventoryError(f"Unknown transport {transport!r}: use one of {', '.join(TRANSPORTS)}.")
    port = port or (agents.connection.HTTPS_PORT if https else agents.connection.HTTP_PORT)
    if not 1 <= int(port) <= 65535:
        raise InventoryError(f"{port} is not a TCP port.")
    return dict(winrm_port=int(port), winrm_https=bool(https), winrm_transport=transport,
                ca_path=ca_path or "", allow_insecure=bool(allow_insecure), run_as=run_as)


def _connection(address: str, settings: dict, fqdn: str = "") -> agents.Connection:
    try:
        validate_host_address(address)
    except ValidationError:
        raise InventoryError(f"{address!r} is neither an IP address nor a DNS name.") from None
    run_as = settings["run_as"]
    conn = agents.Connection(
        address=address, port=settings["winrm_port"], https=settings["winrm_https"],
        transport=settings["winrm_transport"], ca_path=settings["ca_path"],
        allow_insecure=settings["allow_insecure"], username=run_as.username, password=run_as.password,
        account=run_as.name, fqdn=fqdn,
    )
    conn.check_policy()  # refuse before a single packet leaves
    return conn


def discover_cluster(address: str, run_as: RunAsAccount, *, port: int | None = None, https: bool = True,
                     transport: str = "ntlm", ca_path: str = "", allow_insecure: bool = False,
                     host_group: HostGroup | None = None, kind: str | None = None, user=None,
                     request=None, fqdn: str = "") -> Cluster:
    """Add (or update) the Hyper-V or SOFS cluster that `address` belongs to.

    `address` is the cluster's name/IP or any node's. Nodes and their management addresses come
    from Get-ClusterNetworkInterface; each node is then read for OS, NICs and VMs. Nodes that do
    not answer are recorded as Not Responding (see `cluster.discovery_warnings`).
    fqdn: the DNS name of `address` when that is an IP address (Kerberos needs the name).
    """
    settings = connection_settings(run_as, port=port, https=https, transport=transport, ca_path=ca_path,
                                   allow_insecure=allow_insecure)
    conn = _connection(address, settings, fqdn)
    reading = read_cluster(conn, kind=kind)
    with transaction.atomic():
        existed = Cluster.objects.filter(name__iexact=reading.info.name).exists()
        cluster = store_cluster(reading, settings=settings, host_group=host_group, address=address)
        nodes = ", ".join(sorted(n.node.name for n in reading.nodes))
        record(request, AuditAction.CHANGE if existed else AuditAction.CREATE, cluster,
               detail=f"discovered at {address}: {cluster.get_kind_display()} cluster, nodes {nodes}", user=user)
    cluster.discovery_warnings = reading.warnings
    return cluster


def discover_host(address: str, run_as: RunAsAccount, *, port: int | None = None, https: bool = True,
                  transport: str = "ntlm", ca_path: str = "", allow_insecure: bool = False,
                  host_group: HostGroup | None = None, bmc_address: str | None = None, bmc_port: int = 623,
                  bmc_run_as: RunAsAccount | None = None, user=None, request=None, fqdn: str = "") -> Host:
    """Add (or update) a standalone Hyper-V host, with its BMC settings when given.
    fqdn: the DNS name of `address` when that is an IP address (Kerberos needs the name)."""
    settings = connection_settings(run_as, port=port, https=https, transport=transport, ca_path=ca_path,
                                   allow_insecure=allow_insecure)
    conn = _connection(address, settings, fqdn)
    if bmc_address:
        if bmc_run_as is None:
            raise InventoryError("A BMC address needs a BMC Run As account (the BMC's login).")
        settings.update(bmc_address=bmc_address, bmc_port=bmc_port, bmc_run_as=bmc_run_as)
    facts = read_host(conn, hyperv=True)
    with transaction.atomic():
        existed = Host.objects.filter(name__iexact=facts.os.computer_name).exists()
        host = store_host(NodeReading(None, address, facts=facts), settings=settings, host_group=host_group)
        record(request, AuditAction.CHANGE if existed else AuditAction.CREATE, host,
               detail=f"discovered at {address}: {host.os_name} build {host.os_build}, {len(facts.vms or [])} VMs",
               user=user)
    host.discovery_warnings = []
    return host


def add_update_server(address: str, run_as: RunAsAccount, *, port: int | None = None, https: bool = True,
                      transport: str = "ntlm", ca_path: str = "", allow_insecure: bool = False,
                      wsus_port: int = 8530, wsus_ssl: bool = False, user=None, request=None):
    """Add (or update) a WSUS server: Get-WsusServer must answer on it."""
    from compliance.models import UpdateServer

    settings = connection_settings(run_as, port=port, https=https, transport=transport, ca_path=ca_path,
                                   allow_insecure=allow_insecure)
    conn = _connection(address, settings)
    info = agents.wsus.get_wsus_server(conn, port=wsus_port, use_ssl=wsus_ssl)
    name = info.name.split(".")[0]
    with transaction.atomic():
        server = UpdateServer.objects.select_for_update().filter(name__iexact=name).first()
        existed = server is not None
        server = server or UpdateServer(name=name)
        for key, value in settings.items():
            setattr(server, key, value)
        server.address = address
        server.wsus_port = info.port or wsus_port
        server.wsus_ssl = info.use_ssl
        validated_save(server, f"Update server {name}")
        record(request, AuditAction.CHANGE if existed else AuditAction.CREATE, server,
               detail=f"discovered at {address}: WSUS {info.version} on port {server.wsus_port}", user=user)
    return server


def add_deployment_server(address: str, run_as: RunAsAccount, *, port: int | None = None, https: bool = True,
                          transport: str = "ntlm", ca_path: str = "", allow_insecure: bool = False,
                          remote_install_path: str | None = None, user=None, request=None) -> DeploymentServer:
    """Add (or update) a WDS deployment server: Get-WdsClient must answer on it."""
    settings = connection_settings(run_as, port=port, https=https, transport=transport, ca_path=ca_path,
                                   allow_insecure=allow_insecure)
    conn = _connection(address, settings)
    info = agents.deployment.get_deployment_server(conn)
    with transaction.atomic():
        server = DeploymentServer.objects.select_for_update().filter(name__iexact=info.computer_name).first()
        existed = server is not None
        server = server or DeploymentServer(name=info.computer_name)
        for key, value in settings.items():
            setattr(server, key, value)
        server.address = address
        if remote_install_path:
            server.remote_install_path = remote_install_path
        server.last_refreshed = timezone.now()
        validated_save(server, f"Deployment server {info.computer_name}")
        server.discovery_warnings = store_install_images(server, info.images)
        record(request, AuditAction.CHANGE if existed else AuditAction.CREATE, server,
               detail=f"discovered at {address}: WDS with {len(info.staged)} prestaged devices and "
                      f"{len(info.images)} install images", user=user)
    return server
