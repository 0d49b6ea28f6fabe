"""The only code in Ferry that talks to machines: PowerShell over WinRM, and IPMI to BMCs.

Use it like this::

    from fabric import agents
    conn = agents.Connection.for_endpoint(host)            # a Host, Cluster, UpdateServer...
    nodes = agents.cluster.get_cluster_nodes(conn)
    agents.cluster.suspend_node(conn, "HV01", drain=True)
    agents.bmc.power_state(agents.bmc.BMCTarget.for_host(host))

Every operation raises a subclass of AgentError with a message an operator can act on.
A VM is always selected by its Id (a GUID kept at discovery), never by name: Hyper-V reads
`-Name` as a wildcard pattern, so a VM named `web*` or `db[1]` would select others too.
This package imports no Django models; anything with the ManagedEndpoint fields works.
"""
from fabric.agents import bmc, cluster, deployment, hostinfo, hyperv, provisioning, storage, updates, wsus
from fabric.agents.connection import Connection
from fabric.agents.errors import (
    AccessDenied,
    AgentError,
    BadOutput,
    BMCAccessDenied,
    BMCError,
    BMCTimeout,
    BMCUnreachable,
    CmdletError,
    InsecureTransportRefused,
    NotFound,
    OperationTimeout,
    ProtocolError,
    SecondHopDenied,
    Timeout,
    TransportUnavailable,
    Unreachable,
)
from fabric.agents.quoting import UnsafeArgument, ps_str
from fabric.agents.runner import run_script

__all__ = [
    "AccessDenied", "AgentError", "BMCAccessDenied", "BMCError", "BMCTimeout", "BMCUnreachable", "BadOutput",
    "CmdletError", "Connection", "InsecureTransportRefused", "NotFound", "OperationTimeout", "ProtocolError",
    "SecondHopDenied", "Timeout", "TransportUnavailable", "Unreachable", "UnsafeArgument", "bmc", "cluster",
    "deployment", "hostinfo", "hyperv", "provisioning", "ps_str", "run_script", "storage", "updates", "wsus",
]
