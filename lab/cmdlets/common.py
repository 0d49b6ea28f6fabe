"""What every lab cmdlet shares: the host it runs on, registration, errors, value helpers."""
from __future__ import annotations

import datetime as dt
import functools
import uuid
from dataclasses import dataclass

from lab.datacenter import Datacenter, OperationError
from lab.datacenter.model import Cluster, Host
from lab.powershell.values import PSEnum, PSObject, to_string

# module name → {cmdlet name → CmdletSpec}
MODULES: dict[str, dict[str, "CmdletSpec"]] = {}


@dataclass
class CmdletSpec:
    name: str
    func: object
    parameters: dict[str, str]
    positional: tuple[str, ...]
    pipeline: str | None
    type_name: str
    module: str
    should_process: bool


class HostContext:
    """What a script runs as: one host, or a cluster's access point (then the node that owns the
    cluster core group, looked up at each use)."""

    def __init__(self, dc: Datacenter, kind: str, key: str, identity=None):
        self.dc = dc
        self.kind = kind
        self.key = key
        self.identity = identity    # the WinRM logon the script runs under; None: the local console
        self.variables: dict = {}

    @property
    def can_delegate(self) -> bool:
        """Whether the script may act on a third machine as its caller: on the console, or over a
        logon that can be delegated (CredSSP, or Kerberos with a forwarded ticket to a host trusted
        for delegation). NTLM and Basic never can."""
        return self.identity is None or self.identity.can_delegate

    def require_second_hop(self, target: str, command_type: str) -> None:
        """Refuse, as Windows does, an operation that must reach `target` (another machine) with
        the caller's identity when the logon cannot be delegated."""
        if self.can_delegate:
            return
        # Windows reports the failed remote logon as E_ACCESSDENIED (0x80070005); the exact text
        # and error id of each cmdlet are not documented (unconfirmed).
        raise CmdletErrorFactory.make(
            f"Access is denied. (Exception from HRESULT: 0x80070005 (E_ACCESSDENIED)) The logon on "
            f"{self.host.name} cannot be passed on to {target}.", "PermissionDenied",
            f"UnauthorizedAccess,{command_type}", "System.UnauthorizedAccessException")

    @property
    def host(self) -> Host:
        if self.kind == "host":
            return self.dc.hosts[self.key]
        return self.dc.hosts[self.dc.clusters[self.key].core_owner]

    def cluster(self, name=None, command_type: str = "") -> Cluster:
        """The cluster a cluster cmdlet talks to: -Cluster NAME, or the local node's cluster."""
        dc = self.dc
        with dc.lock:
            if name:
                cluster = dc.find_cluster(str(name))
                if cluster is None:
                    host = dc.find_host(str(name))
                    cluster = dc.cluster_of(host) if host is not None and host.online else None
                if cluster is None or not dc.cluster_online(cluster):
                    raise cluster_unreachable(str(name), command_type)
                return cluster
            if self.kind == "cluster":
                cluster = dc.clusters[self.key]
            else:
                cluster = dc.cluster_of(self.host)
            if cluster is None or not dc.cluster_online(cluster):
                raise CmdletErrorFactory.make(
                    "The cluster service is not running.  Make sure that the service is running on all nodes "
                    "in the cluster.", "ConnectionError",
                    f"ClusterEndpointNotRegistered,{command_type}",
                    "Microsoft.FailoverClusters.PowerShell.ClusterCmdletException")
            return cluster


def cluster_unreachable(name: str, command_type: str):
    return CmdletErrorFactory.make(
        f"Failed to connect to the cluster '{name}'. The RPC server is unavailable.", "ConnectionError",
        f"ClusterRpcConnection,{command_type}", "Microsoft.FailoverClusters.PowerShell.ClusterCmdletException")


class CmdletErrorFactory:
    """Builds lab.powershell.CmdletError lazily, so this module imports without the interpreter."""

    @staticmethod
    def make(message, category="InvalidOperation", fqid="", exception="System.InvalidOperationException",
             target=None):
        from lab.powershell import CmdletError
        try:
            return CmdletError(message, category=category, fqid=fqid, exception=exception, target=target)
        except TypeError:
            return CmdletError(message, category, fqid, exception)


def fail(message, category="InvalidOperation", error_id="", command_type="",
         exception="System.InvalidOperationException", target=None):
    return CmdletErrorFactory.make(message, category, f"{error_id},{command_type}" if command_type else error_id,
                                   exception, target)


def _injected_failure(context, name: str, command_type: str) -> None:
    """The `cmdlet_fails` fault: this cmdlet fails on this host (before it changes anything)."""
    if context.kind != "host":
        return
    with context.dc.lock:
        fault = context.dc.faults.active("cmdlet_fails", host_key=context.key)
        if fault is None or str(fault.get("cmdlet", "")).lower() != name.lower():
            return
        context.dc.faults.take("cmdlet_fails", id=fault["id"])
        context.dc.event("cmdlet-failed", host=context.host.name, cmdlet=name, fault=fault["id"])
    raise fail(fault.get("message") or f"{name} failed (injected fault).", "InvalidOperation",
               "InjectedFault", command_type, "System.InvalidOperationException")


def cmdlet(module: str, name: str, parameters: dict[str, str], positional=(), pipeline=None,
           command_type: str = "", should_process: bool = False):
    """Register a lab cmdlet; OperationError from the datacenter becomes a PowerShell error."""
    command_type = command_type or name

    def decorate(func):
        @functools.wraps(func)
        def run(context, **params):
            _injected_failure(context, name, command_type)
            try:
                return func(context, **params)
            except OperationError as error:
                raise fail(error.message, error.category, error.error_id or "OperationFailed", command_type,
                           error.exception) from None
        MODULES.setdefault(module, {})[name] = CmdletSpec(name, run, dict(parameters), tuple(positional), pipeline,
                                                          command_type, module,
                                                          should_process or "WhatIf" in parameters)
        return func
    return decorate


# -- values ------------------------------------------------------------------------------------------
def ps_enum(value: int, name: str):
    return PSEnum(value, name)


def dotnet(type_name: str, text: str | None, properties: dict):
    """A .NET object: ordered properties, its type name and what its ToString() gives (what
    ConvertTo-Json writes for it beyond -Depth)."""
    return PSObject(properties, type_name=type_name, text=text)


def flags_enum(value: int, names: dict[int, str]):
    if value == 0:
        return ps_enum(0, "Normal")
    return ps_enum(value, ", ".join(n for bit, n in sorted(names.items()) if value & bit))


def as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        out = []
        for item in value:
            out.extend(as_list(item))
        return out
    return [value]


def names_of(value, key: str = "Name") -> list[str]:
    """-Name a,b or pipeline objects: the names as strings."""
    out = []
    for item in as_list(value):
        if isinstance(item, dict):
            item = item.get(key, item.get("Name"))
        if item is not None:
            out.append(str(item))
    return out


def truthy(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "$false")
    return bool(value)


def as_int(value, what: str, command_type: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise fail(f"Cannot bind parameter '{what}'. Cannot convert value \"{value}\" to type \"System.Int32\".",
                   "InvalidArgument", "CannotConvertArgumentNoMessage", command_type,
                   "System.Management.Automation.ParameterBindingException") from None


def as_guid(value, what: str, command_type: str) -> str:
    """A [Guid] parameter: one GUID (braces allowed), as the lower-case string the lab keys VMs by."""
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    if isinstance(value, dict):
        value = value.get("Id", value)
    try:
        return str(uuid.UUID(to_string(value).strip().strip("{}")))
    except (ValueError, TypeError, AttributeError):
        text = " ".join(to_string(v) for v in value) if isinstance(value, (list, tuple)) else to_string(value)
        raise fail(f"Cannot bind parameter '{what}'. Cannot convert value \"{text}\" to type \"System.Guid\". "
                   "Error: \"Guid should contain 32 digits with 4 dashes (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx).\"",
                   "InvalidArgument", "CannotConvertArgumentNoMessage", command_type,
                   "System.Management.Automation.ParameterBindingException") from None


def ambiguous_parameter_set(command_type: str):
    return fail("Parameter set cannot be resolved using the specified named parameters.", "InvalidArgument",
                "AmbiguousParameterSet", command_type, "System.Management.Automation.ParameterBindingException")


def choice(value, allowed: tuple[str, ...], what: str, command_type: str) -> str:
    for option in allowed:
        if str(value).lower() == option.lower():
            return option
    if isinstance(value, int) or str(value).isdigit():
        return str(value)
    raise fail(f"Cannot bind parameter '{what}'. Cannot convert value \"{value}\" to type because the "
               f"identifier name {value} is not valid; specify one of the following enumerator names and try "
               f"again: {', '.join(allowed)}", "InvalidArgument", "CannotConvertArgumentNoMessage", command_type,
               "System.Management.Automation.ParameterBindingException")


def timespan(seconds: float) -> dt.timedelta:
    """A System.TimeSpan (ConvertTo-Json writes Ticks, Days, ... TotalSeconds)."""
    return dt.timedelta(seconds=max(0.0, seconds))


def cim_instance(namespace: str, class_name: str, server: str, properties: dict, key: str | None = None):
    """A CIM instance: its properties plus the CimClass/CimInstanceProperties/CimSystemProperties
    that ConvertTo-Json drags along when nothing was selected."""
    out = dict(properties)
    out["PSComputerName"] = None
    out["CimClass"] = f"{namespace}:{class_name}"
    out["CimInstanceProperties"] = [f"{k} = {to_string(v)}" if not isinstance(v, (dict, list)) else k
                                    for k, v in properties.items()]
    out["CimSystemProperties"] = dotnet("Microsoft.Management.Infrastructure.CimSystemProperties",
                                        "Microsoft.Management.Infrastructure.CimSystemProperties",
                                        {"Namespace": namespace, "ServerName": server, "ClassName": class_name,
                                         "Path": None})
    return dotnet(f"Microsoft.Management.Infrastructure.CimInstance#{namespace}/{class_name}",
                  f"{class_name} ({key})" if key else class_name, out)


def utc(value: dt.datetime | None) -> dt.datetime | None:
    return value.astimezone(dt.timezone.utc) if value is not None else None
