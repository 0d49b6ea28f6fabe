"""Re-imaging a host and configuring the new OS: the client answer file, DHCP reservations on the
deployment server, the host's network and disk configuration as it is now, Windows features, and
the management network (virtual switch, static address, DNS).

Sources: learn.microsoft.com/powershell/module/servermanager/install-windowsfeature,
…/nettcpip/new-netipaddress, …/nettcpip/set-netipinterface, …/nettcpip/get-netroute, …/nettcpip/new-netroute,
…/dnsclient/set-dnsclientserveraddress, …/hyper-v/new-vmswitch, …/hyper-v/get-vmnetworkadapter,
…/dhcpserver/add-dhcpserverv4reservation; the WDS client unattend file:
learn.microsoft.com/windows-hardware/customize/desktop/unattend/microsoft-windows-setup-windowsdeploymentservices
(only the windowsPE pass is read by the WDS client).
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from fabric.agents.connection import Connection
from fabric.agents.deployment import _NETBIOS, windows_mac
from fabric.agents.errors import NotFound
from fabric.agents.parsing import Reader
from fabric.agents.quoting import UnsafeArgument, ps_array, ps_int, ps_str
from fabric.agents.runner import run_script

CLUSTER_FEATURES = ("Hyper-V", "Failover-Clustering")
# A Scale-Out File Server node: the File Server role service and Failover Clustering (no Hyper-V).
FILE_SERVER_FEATURES = ("FS-FileServer", "Failover-Clustering")
MANAGEMENT_SWITCH = "Management"


@dataclass(frozen=True)
class NicConfiguration:
    name: str
    mac: str
    addresses: list[str]        # "10.0.0.5/24"
    gateway: str
    dns: list[str]
    vlan: int | None


@dataclass(frozen=True)
class SwitchConfiguration:
    name: str
    switch_type: str
    adapter: str                # the physical NIC's description, for an external switch
    management_os: bool


@dataclass
class NodeConfiguration:
    """What a host is configured with now, read before it is re-imaged."""

    computer_name: str
    build: int | None
    nics: list[NicConfiguration] = field(default_factory=list)
    switches: list[SwitchConfiguration] = field(default_factory=list)
    management_vnics: list[dict] = field(default_factory=list)   # name, switch, MAC
    disks: list[dict] = field(default_factory=list)              # number, name, size, boot, system


def read_configuration(conn: Connection) -> NodeConfiguration:
    """NICs (MAC, addresses, gateway, DNS, VLAN), virtual switches, management vNICs and disks."""
    body = (
        "$os = Get-CimInstance -ClassName Win32_OperatingSystem\n"
        # filtered here, not with -InterfaceAlias: no match would be an error (CmdletizationQuery_NotFound)
        "$addresses = @(Get-NetIPAddress -AddressFamily IPv4)\n"
        "$routes = @(Get-NetRoute | Where-Object { $_.DestinationPrefix -eq '0.0.0.0/0' })\n"
        "$servers = @(Get-DnsClientServerAddress -AddressFamily IPv4)\n"
        "$nics = @(Get-NetAdapter | ForEach-Object {\n"
        "  $alias = $_.Name\n"
        "  $ip = @($addresses | Where-Object { $_.InterfaceAlias -eq $alias } |"
        " ForEach-Object { [string]$_.IPAddress + '/' + [string]$_.PrefixLength })\n"
        "  $gw = @($routes | Where-Object { $_.InterfaceAlias -eq $alias })\n"
        "  $dns = @($servers | Where-Object { $_.InterfaceAlias -eq $alias })\n"
        "  @{ Name = [string]$alias; MacAddress = [string]$_.MacAddress; Addresses = $ip;"
        " Gateway = $(if ($gw.Count -gt 0) { [string]$gw[0].NextHop } else { '' });"
        " Dns = @($dns | ForEach-Object { $_.ServerAddresses }); VlanID = $_.VlanID } })\n"
        "$switches = @()\n$vnics = @()\n"
        "if ([string](Get-WindowsFeature -Name Hyper-V).InstallState -eq 'Installed') {\n"
        "  $switches = @(Get-VMSwitch | ForEach-Object { @{ Name = [string]$_.Name; SwitchType = [string]$_.SwitchType;"
        " Adapter = [string]$_.NetAdapterInterfaceDescription; ManagementOS = [bool]$_.AllowManagementOS } })\n"
        "  $vnics = @(Get-VMNetworkAdapter -ManagementOS | ForEach-Object { @{ Name = [string]$_.Name;"
        " Switch = [string]$_.SwitchName; MacAddress = [string]$_.MacAddress } })\n"
        "}\n"
        "$disks = @(Get-Disk | ForEach-Object { @{ Number = $_.Number; Name = [string]$_.FriendlyName;"
        " Size = [int64]$_.Size; IsBoot = [bool]$_.IsBoot; IsSystem = [bool]$_.IsSystem } })\n"
        "$result = @{ ComputerName = [string]$os.CSName; BuildNumber = [string]$os.BuildNumber; Nics = $nics;"
        " Switches = $switches; Vnics = $vnics; Disks = $disks }"
    )
    op = "read the host configuration"
    value = run_script(conn, body, operation=op)
    r = Reader(op, conn.where)
    rec = r.record(value)
    build = r.get(rec, "BuildNumber", required=False, default="")
    return NodeConfiguration(
        computer_name=r.get(rec, "ComputerName"),
        build=int(build) if str(build).isdigit() else None,
        nics=[NicConfiguration(
            name=r.get(n, "Name"), mac=r.get(n, "MacAddress", required=False, default=""),
            addresses=[str(a) for a in (n.get("Addresses") or [])],
            gateway=r.get(n, "Gateway", required=False, default="") or "",
            dns=[str(d) for d in (n.get("Dns") or [])],
            vlan=n.get("VlanID") if isinstance(n.get("VlanID"), int) else None,
        ) for n in r.records(rec.get("Nics"))],
        switches=[SwitchConfiguration(r.get(s, "Name"), r.get(s, "SwitchType", required=False, default=""),
                                      r.get(s, "Adapter", required=False, default=""),
                                      r.get(s, "ManagementOS", bool, required=False, default=False))
                  for s in r.records(rec.get("Switches"))],
        management_vnics=[{"name": r.get(v, "Name"), "switch": r.get(v, "Switch", required=False, default=""),
                           "mac": r.get(v, "MacAddress", required=False, default="")}
                          for v in r.records(rec.get("Vnics"))],
        disks=[{"number": d.get("Number"), "name": d.get("Name") or "", "size": d.get("Size") or 0,
                "boot": bool(d.get("IsBoot")), "system": bool(d.get("IsSystem"))}
               for d in r.records(rec.get("Disks"))],
    )


def client_unattend(image_name: str, image_group: str, disk: int = 0) -> str:
    """A WDS client answer file: only the windowsPE pass (which image, which disk). Everything a host
    is configured with after setup goes over WinRM; WDS ignores the other passes anyway."""
    group = f"<ImageGroup>{escape(image_group)}</ImageGroup>" if image_group else ""
    return f"""<?xml version="1.0" encoding="utf-8"?>
<unattend xmlns="urn:schemas-microsoft-com:unattend">
  <settings pass="windowsPE">
    <component name="Microsoft-Windows-Setup" processorArchitecture="amd64" publicKeyToken="31bf3856ad364e35" language="neutral" versionScope="nonSxS">
      <WindowsDeploymentServices>
        <ImageSelection>
          <InstallImage><ImageName>{escape(image_name)}</ImageName>{group}</InstallImage>
          <InstallTo><DiskID>{int(disk)}</DiskID><PartitionID>1</PartitionID></InstallTo>
        </ImageSelection>
      </WindowsDeploymentServices>
    </component>
  </settings>
</unattend>"""


def dhcp_scope_for(conn: Connection, address: str) -> str:
    """The ScopeId of the deployment server's DHCP scope that holds `address`; NotFound otherwise."""
    body = ("$result = @(Get-DhcpServerv4Scope | ForEach-Object { @{ ScopeId = [string]$_.ScopeId;"
            " SubnetMask = [string]$_.SubnetMask } })")
    op = "Get-DhcpServerv4Scope"
    value = run_script(conn, body, operation=op)
    r = Reader(op, conn.where)
    wanted = ipaddress.IPv4Address(address)
    for rec in r.records(value):
        scope = ipaddress.IPv4Network(f"{r.get(rec, 'ScopeId')}/{r.get(rec, 'SubnetMask')}", strict=False)
        if wanted in scope:
            return str(scope.network_address)
    raise NotFound(f"No DHCP scope of {conn.where} holds {address}: add one (Add-DhcpServerv4Scope) for the "
                   f"deployment network.", target=conn.where)


def _scope_arg(scope: str) -> str:
    return ps_str(str(ipaddress.IPv4Address(scope)), what="DHCP scope")


def reserve_address(conn: Connection, *, scope: str, address: str, mac: str, name: str) -> None:
    """Reserve `address` for `mac` in the deployment server's DHCP scope; the same reservation again
    is nothing to do, a different one for that MAC is replaced."""
    device = ps_str(windows_mac(mac))
    client = ps_str(windows_mac(mac).lower())  # the DHCP server writes client ids in lower case
    ip = ps_str(str(ipaddress.IPv4Address(address)), what="IP address")
    body = (
        f"$mine = @(Get-DhcpServerv4Reservation -ScopeId {_scope_arg(scope)} |"
        f" Where-Object {{ [string]$_.ClientId -eq {client} }})\n"
        f"if ($mine.Count -gt 0 -and [string]$mine[0].IPAddress -ne {ip}) {{"
        f" Remove-DhcpServerv4Reservation -ScopeId {_scope_arg(scope)} -ClientId {device}; $mine = @() }}\n"
        f"if ($mine.Count -eq 0) {{ Add-DhcpServerv4Reservation -ScopeId {_scope_arg(scope)} -IPAddress {ip}"
        f" -ClientId {device} -Name {ps_str(name, what='name')} }}\n"
        "$result = @{ Reserved = $true }"
    )
    run_script(conn, body, operation=f"Add-DhcpServerv4Reservation {address}", idempotent=True)


def release_address(conn: Connection, *, scope: str, mac: str) -> bool:
    """Remove the reservation of `mac`; False when there was none."""
    device = ps_str(windows_mac(mac))
    client = ps_str(windows_mac(mac).lower())
    body = (
        f"$mine = @(Get-DhcpServerv4Reservation -ScopeId {_scope_arg(scope)} |"
        f" Where-Object {{ [string]$_.ClientId -eq {client} }})\n"
        f"if ($mine.Count -gt 0) {{ Remove-DhcpServerv4Reservation -ScopeId {_scope_arg(scope)} -ClientId {device} }}\n"
        "$result = @{ Removed = $mine.Count -gt 0 }"
    )
    op = "Remove-DhcpServerv4Reservation"
    value = run_script(conn, body, operation=op, idempotent=True)
    r = Reader(op, conn.where)
    return r.get(r.record(value), "Removed", bool)


def computer_name_taken(conn: Connection, name: str) -> bool:
    """Whether the directory already has a computer named `name` (Get-ADComputer, run on `conn`,
    which reaches a domain controller with the caller's identity: a second hop)."""
    if not _NETBIOS.match(name or ""):
        raise UnsafeArgument(f"{name!r} is not a computer name (1-15 letters, digits or hyphens).")
    body = (f"$found = @(Get-ADComputer -Filter {ps_str(f'Name -eq {chr(39)}{name}{chr(39)}')})\n"
            "$result = @{ Taken = $found.Count -gt 0 }")
    op = f"Get-ADComputer {name}"
    value = run_script(conn, body, operation=op, second_hop=True)
    r = Reader(op, conn.where)
    return r.get(r.record(value), "Taken", bool)


def feature_states(conn: Connection, names=CLUSTER_FEATURES) -> dict[str, str]:
    """Name → InstallState (Available, Installed, InstallPending)."""
    body = (f"$result = @(Get-WindowsFeature -Name {ps_array(names, what='feature name')} | ForEach-Object {{"
            " @{ Name = [string]$_.Name; InstallState = [string]$_.InstallState } })")
    op = "Get-WindowsFeature"
    value = run_script(conn, body, operation=op)
    r = Reader(op, conn.where)
    return {r.get(f, "Name"): r.get(f, "InstallState") for f in r.records(value)}


def install_features(conn: Connection, names=CLUSTER_FEATURES) -> bool:
    """Install-WindowsFeature with the management tools; True when a restart is needed."""
    body = (f"$r = Install-WindowsFeature -Name {ps_array(names, what='feature name')} -IncludeManagementTools\n"
            "$result = @{ RestartNeeded = [string]$r.RestartNeeded; ExitCode = [string]$r.ExitCode }")
    op = "Install-WindowsFeature"
    value = run_script(conn, body, operation=op, timeout=1800, idempotent=True)
    r = Reader(op, conn.where)
    return r.get(r.record(value), "RestartNeeded") == "Yes"


def configure_management_network(conn: Connection, *, adapter: str, address: str, prefix_length: int,
                                 gateway: str = "", dns: list[str] = (), switch: str | None = MANAGEMENT_SWITCH) -> None:
    """An external virtual switch on `adapter` shared with the management OS, and the static address,
    gateway and DNS servers on its management vNIC; with `switch=None` (a file server node, no
    Hyper-V) the address, gateway and DNS go on `adapter` itself. Looks first: what is already so stays.

    The WinRM endpoint moves to `address` when it differs from where this connection goes."""
    alias = ps_str(f"vEthernet ({switch})" if switch else adapter, what="interface alias")
    ip = ps_str(str(ipaddress.IPv4Address(address)), what="IP address")
    gateway_arg = f" -DefaultGateway {ps_str(str(ipaddress.IPv4Address(gateway)), what='gateway')}" if gateway else ""
    # the address may be there already (the deployment's DHCP reservation): then the gateway is added alone
    route_part = (
        f"if (@(Get-NetRoute | Where-Object {{ $_.DestinationPrefix -eq '0.0.0.0/0' -and $_.InterfaceAlias -eq "
        f"{alias} }}).Count -eq 0) {{ $null = New-NetRoute -DestinationPrefix '0.0.0.0/0' -InterfaceAlias {alias} "
        f"-NextHop {ps_str(str(ipaddress.IPv4Address(gateway)), what='gateway')} }}\n" if gateway else "")
    dns_part = (f"Set-DnsClientServerAddress -InterfaceAlias {alias} -ServerAddresses "
                f"{ps_array([str(ipaddress.IPv4Address(d)) for d in dns], what='DNS server')}\n" if dns else "")
    switch_part = (
        f"if (@(Get-VMSwitch | Where-Object {{ $_.Name -eq {ps_str(switch, what='switch name')} }}).Count -eq 0) {{"
        f" $null = New-VMSwitch -Name {ps_str(switch, what='switch name')} -NetAdapterName "
        f"{ps_str(adapter, what='adapter name')} -AllowManagementOS $true }}\n" if switch else "")
    body = (
        f"{switch_part}"
        f"{dns_part}"
        f"Set-NetIPInterface -InterfaceAlias {alias} -Dhcp Disabled\n"
        f"$have = @(Get-NetIPAddress -AddressFamily IPv4 |"
        f" Where-Object {{ $_.InterfaceAlias -eq {alias} -and [string]$_.IPAddress -eq {ip} }})\n"
        f"if ($have.Count -eq 0) {{ $null = New-NetIPAddress -InterfaceAlias {alias} -IPAddress {ip}"
        f" -PrefixLength {ps_int(prefix_length, what='prefix length')}{gateway_arg} }}\n"
        f"{route_part}"
        "$result = @{ Configured = $true }"
    )
    run_script(conn, body, operation="configure the management network", idempotent=True)


__all__ = [
    "CLUSTER_FEATURES", "FILE_SERVER_FEATURES", "MANAGEMENT_SWITCH", "NicConfiguration", "NodeConfiguration", "SwitchConfiguration",
    "client_unattend", "computer_name_taken", "configure_management_network", "dhcp_scope_for", "feature_states", "install_features", "read_configuration",
    "release_address", "reserve_address",
]
