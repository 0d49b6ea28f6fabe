"""What is configured on a host after it is deployed: Windows features, IP settings, virtual switches."""
from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass

from lab.datacenter.core import OperationError
from lab.datacenter.model import Host, VMSwitch

CIM_EXCEPTION = "Microsoft.Management.Infrastructure.CimException"
SERVER_MANAGER = "Microsoft.Windows.ServerManager.Commands."
HYPERV_EXCEPTION = "Microsoft.HyperV.PowerShell.VirtualizationException"
# Wait before moving the WinRM endpoint to a new address, so the command's answer still gets out.
MOVE_ENDPOINT_WALL_SECONDS = 0.3


@dataclass(frozen=True)
class Feature:
    name: str
    display_name: str
    feature_type: str            # Role | Role Service | Feature
    restart: bool                # installing it needs a restart before it works
    tools: tuple[str, ...] = ()  # what -IncludeManagementTools adds
    module: str | None = None    # the PowerShell module it brings


FEATURES = {f.name.lower(): f for f in (
    Feature("Hyper-V", "Hyper-V", "Role", True, ("Hyper-V-PowerShell", "RSAT-Hyper-V-Tools")),
    Feature("Hyper-V-PowerShell", "Hyper-V Module for Windows PowerShell", "Feature", False, module="Hyper-V"),
    Feature("RSAT-Hyper-V-Tools", "Hyper-V Management Tools", "Feature", False),
    Feature("Failover-Clustering", "Failover Clustering", "Feature", True,
            ("RSAT-Clustering-PowerShell", "RSAT-Clustering-Mgmt")),
    Feature("RSAT-Clustering-PowerShell", "Failover Cluster Module for Windows PowerShell", "Feature", False,
            module="FailoverClusters"),
    Feature("RSAT-Clustering-Mgmt", "Failover Cluster Management Tools", "Feature", False),
    Feature("FS-FileServer", "File Server", "Role Service", False),
    Feature("Multipath-IO", "Multipath I/O", "Feature", True),
    Feature("Data-Center-Bridging", "Data Center Bridging", "Feature", False),
    Feature("UpdateServices", "Windows Server Update Services", "Role", False, module="UpdateServices"),
    Feature("WDS", "Windows Deployment Services", "Role", False, module="WDS"),
    Feature("DHCP", "DHCP Server", "Role", False, module="DhcpServer"),
)}
_TOOLS = ("Hyper-V-PowerShell", "RSAT-Hyper-V-Tools", "RSAT-Clustering-PowerShell", "RSAT-Clustering-Mgmt")
ROLE_FEATURES = {
    "hyperv": ("Hyper-V", "Failover-Clustering", "FS-FileServer") + _TOOLS,
    "sofs": ("Failover-Clustering", "FS-FileServer", "RSAT-Clustering-PowerShell", "RSAT-Clustering-Mgmt"),
    "server": ("FS-FileServer",),
    "wsus": ("FS-FileServer", "UpdateServices"),
    "deployment": ("FS-FileServer", "WDS", "DHCP"),
}
# What a cluster of each kind needs on a node before Add-ClusterNode takes it.
CLUSTER_FEATURES = {"hyperv": ("Hyper-V", "Failover-Clustering"), "sofs": ("Failover-Clustering", "FS-FileServer")}


def feature_modules(features) -> tuple[str, ...]:
    return tuple(sorted({FEATURES[f.lower()].module for f in features
                         if f.lower() in FEATURES and FEATURES[f.lower()].module}))


def _address(value, what: str) -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(str(value).strip())
    except ValueError:
        raise OperationError(f"Cannot process argument transformation on parameter '{what}'. Cannot convert value "
                             f"\"{value}\" to type \"System.String\": not a valid IPv4 address.", "InvalidData",
                             "ParameterArgumentTransformationError",
                             "System.Management.Automation.ParameterBindingException") from None


class HostConfigOps:
    # -- Windows features ------------------------------------------------------------------------
    def install_features(self, host_key: str, names: list[str], tools: bool) -> list[tuple[Feature, bool]]:
        """Install-WindowsFeature: [(feature, changed)]. Features needing a restart are InstallPending
        (and so is everything installed with them) until the host restarts."""
        with self.change():
            host = self.hosts[host_key]
            wanted: list[Feature] = []
            for name in names:
                feature = FEATURES.get(name.lower())
                if feature is None:
                    raise OperationError(f"ArgumentNotValid: The role, role service, or feature name is not valid: "
                                         f"'{name}'. The name was not found.", "InvalidArgument", "NameDoesNotExist",
                                         "System.ArgumentException")
                wanted.append(feature)
                if tools:
                    wanted.extend(FEATURES[t.lower()] for t in feature.tools)
            present = host.features | host.pending_features
            new = [f for f in dict.fromkeys(wanted) if f.name not in present]
            needs_restart = any(f.restart for f in new)
            for feature in new:
                (host.pending_features if needs_restart else host.features).add(feature.name)
            if new:
                self.event("features-added", host=host.name, features=[f.name for f in new],
                           restart_needed=needs_restart)
            return [(f, f in new) for f in dict.fromkeys(wanted)]

    def feature_state(self, host: Host, feature: Feature) -> str:
        if feature.name in host.features:
            return "Installed"
        if feature.name in host.pending_features:
            return "InstallPending"
        return "Available"

    def require_cluster_features(self, host: Host, kind: str, cluster_name: str) -> None:
        missing = [f for f in CLUSTER_FEATURES[kind] if f not in host.features]
        if missing:
            pending = [f for f in missing if f in host.pending_features]
            detail = (f"{', '.join(pending)} waits for a restart" if pending
                      else f"install {', '.join(missing)} first (Install-WindowsFeature)")
            raise OperationError(f"The computer '{host.name}' cannot join cluster '{cluster_name}': the "
                                 f"{' and '.join(missing)} feature{'s are' if len(missing) > 1 else ' is'} not "
                                 f"installed ({detail}).", "InvalidOperation", "AddClusterNodeFailed",
                                 "Microsoft.FailoverClusters.PowerShell.ClusterCmdletException")

    # -- IP settings -------------------------------------------------------------------------------
    def set_dhcp(self, host_key: str, nic_name: str, enabled: bool) -> None:
        with self.change():
            nic = self._nic_named(self.hosts[host_key], nic_name)
            nic.dhcp = enabled

    def new_ip_address(self, host_key: str, nic_name: str, ip: str, prefix_length: int, gateway: str | None):
        """New-NetIPAddress. The lab keeps one IPv4 address per NIC: the new one replaces the old.
        When it is the management NIC, the WinRM endpoint moves there once this command answered."""
        with self.change():
            host = self.hosts[host_key]
            nic = self._nic_named(host, nic_name)
            address = str(_address(ip, "IPAddress"))
            if not 0 < prefix_length <= 32:
                raise OperationError(f"Cannot validate argument on parameter 'PrefixLength'. The {prefix_length} "
                                     f"argument is greater than the maximum allowed range of 32.", "InvalidData",
                                     "ParameterArgumentValidationError",
                                     "System.Management.Automation.ParameterBindingException")
            if nic.dhcp:
                raise OperationError("Inconsistent parameters PolicyStore PersistentStore and Dhcp Enabled",
                                     "InvalidArgument", "Windows System Error 87", CIM_EXCEPTION)
            if any(n.ip == address for h in self.hosts.values() for n in h.nics if n is not nic):
                raise OperationError(f"The address {address} is already in use on the network (duplicate address "
                                     f"detected).", "ResourceExists", "Windows System Error 5010", CIM_EXCEPTION)
            if nic.ip == address:
                raise OperationError("Instance MSFT_NetIPAddress already exists", "ResourceExists",
                                     "Windows System Error 5010", CIM_EXCEPTION)
            if gateway is not None:
                gw = _address(gateway, "DefaultGateway")
                if gw not in ipaddress.IPv4Interface(f"{address}/{prefix_length}").network:
                    raise OperationError(f"The default gateway {gw} is not in the subnet of {address}/"
                                         f"{prefix_length}.", "InvalidArgument", "Windows System Error 87",
                                         CIM_EXCEPTION)
                if nic.gateway:
                    raise OperationError("Instance DefaultGateway already exists", "ResourceExists",
                                         "Windows System Error 5010", CIM_EXCEPTION)
                nic.gateway = str(gw)
            nic.ip, nic.prefix_length = address, prefix_length
            self.event("ip-address-set", host=host.name, nic=nic.name, ip=address)
            if nic is host.management_nic() and address != host.address:
                self.scheduler.after(MOVE_ENDPOINT_WALL_SECONDS, self._move_endpoint, host.key, address)
            return nic

    def new_default_route(self, host_key: str, nic_name: str, next_hop: str):
        """New-NetRoute -DestinationPrefix 0.0.0.0/0: the NIC's default gateway."""
        with self.change():
            host = self.hosts[host_key]
            nic = self._nic_named(host, nic_name)
            hop = _address(next_hop, "NextHop")
            if not nic.ip or hop not in ipaddress.IPv4Interface(f"{nic.ip}/{nic.prefix_length}").network:
                raise OperationError(f"The next hop {hop} is not in the subnet of the interface.", "InvalidArgument",
                                     "Windows System Error 87", CIM_EXCEPTION)
            if nic.gateway:
                raise OperationError("Instance MSFT_NetRoute already exists", "ResourceExists",
                                     "Windows System Error 5010", CIM_EXCEPTION)
            nic.gateway = str(hop)
            self.event("route-added", host=host.name, nic=nic.name, next_hop=nic.gateway)
            return nic

    def _move_endpoint(self, host_key: str, address: str) -> None:
        with self.change():
            host = self.hosts[host_key]
            if host.management_nic().ip == address:
                host.address = address
                self.touch("host", host.key)

    def set_dns_servers(self, host_key: str, nic_name: str, servers: list[str] | None) -> None:
        with self.change():
            nic = self._nic_named(self.hosts[host_key], nic_name)
            nic.dns = [str(_address(s, "ServerAddresses")) for s in servers] if servers is not None else []

    def _nic_named(self, host: Host, name: str):
        """The NIC whose IP settings `name` (an interface alias) changes. A NIC bound to an external
        switch has no IP stack of its own any more: its settings live on `vEthernet (SWITCH)`."""
        bound = {s.adapter: s for s in host.switches if s.adapter}
        for nic in host.nics:
            if nic.name.lower() == name.lower() and nic.name not in bound:
                return nic
        for switch in bound.values():
            if switch.management_os and f"vEthernet ({switch.name})".lower() == name.lower():
                return next(n for n in host.nics if n.name == switch.adapter)
        raise OperationError(f"No MSFT_NetIPInterface objects found with property 'InterfaceAlias' equal to "
                             f"'{name}'.  Verify the value of the property and retry.", "ObjectNotFound",
                             "CmdletizationQuery_NotFound_InterfaceAlias", CIM_EXCEPTION)

    # -- virtual switches --------------------------------------------------------------------------
    def new_switch(self, host_key: str, name: str, adapter: str | None, switch_type: str | None,
                   management_os: bool | None) -> VMSwitch:
        with self.change():
            host = self.hosts[host_key]
            if any(s.name.lower() == name.lower() for s in host.switches):
                raise OperationError(f"Failed while adding virtual Ethernet switch connections. A virtual switch "
                                     f"named '{name}' already exists.", "ResourceExists", "ObjectAlreadyExists",
                                     HYPERV_EXCEPTION)
            nic = None
            if adapter is not None:
                if switch_type is not None:
                    raise OperationError("Parameter set cannot be resolved using the specified named parameters.",
                                         "InvalidArgument", "AmbiguousParameterSet",
                                         "System.Management.Automation.ParameterBindingException")
                nic = next((n for n in host.nics if n.name.lower() == adapter.lower()), None)
                if nic is None:
                    raise OperationError(f"No network adapter was found with name '{adapter}'.", "ObjectNotFound",
                                         "ObjectNotFound", HYPERV_EXCEPTION)
                bound = next((s for s in host.switches if s.adapter == nic.name), None)
                if bound is not None:
                    raise OperationError(f"Failed while adding virtual Ethernet switch connections. The network "
                                         f"adapter '{nic.name}' is already bound to virtual switch '{bound.name}'.",
                                         "InvalidOperation", "InvalidOperation", HYPERV_EXCEPTION)
                kind = "External"
            elif switch_type is None:
                raise OperationError("Parameter set cannot be resolved using the specified named parameters.",
                                     "InvalidArgument", "AmbiguousParameterSet",
                                     "System.Management.Automation.ParameterBindingException")
            else:
                kind = switch_type
            allow = (kind == "External") if management_os is None else bool(management_os)
            if kind == "Private":
                allow = False
            switch_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{host.key}/{name}/{len(host.switches)}"))
            switch = VMSwitch(name=name, id=switch_id,
                              switch_type=kind, adapter=nic.name if nic else None, management_os=allow,
                              management_mac=nic.mac if nic and allow else None)
            host.switches.append(switch)
            self.event("vm-switch-created", host=host.name, switch=name, adapter=switch.adapter,
                       management_os=allow)
            return switch
