"""What configuring a freshly deployed host takes: ServerManager (Install-/Get-WindowsFeature),
NetTCPIP and DnsClient setters, Hyper-V virtual switches and management vNICs, and the DHCP server's
reservations (DhcpServer, on the deployment server)."""
from __future__ import annotations

from lab.cmdlets.common import as_int, as_list, choice, cim_instance, cmdlet, dotnet, fail, names_of, ps_enum, truthy
from lab.cmdlets.system import CIM_EXCEPTION, _if_index
from lab.datacenter.dhcp import DHCP_EXCEPTION, LEASE_RANGE, SCOPE, SCOPE_NAME
from lab.datacenter.hostconfig import FEATURES, SERVER_MANAGER

BINDING = "System.Management.Automation.ParameterBindingException"
# Microsoft.Windows.ServerManager.Commands enums (numbers unconfirmed; names as the cmdlets print them).
INSTALL_STATE = {"Available": 0, "Installed": 1, "InstallPending": 2}
RESTART_NEEDED = {"No": 0, "Yes": 1, "Maybe": 2}
EXIT_CODE = {"Success": 0, "NoChangeNeeded": 1003, "SuccessRestartRequired": 3010}
SWITCH_TYPES = {"Private": 0, "Internal": 1, "External": 2}


def _missing(command: str, *names: str):
    return fail(f"Cannot process command because of one or more missing mandatory parameters: {', '.join(names)}.",
                "InvalidArgument", "MissingMandatoryParameter", command, BINDING)


def _feature_object(ctx, feature) -> dict:
    state = ctx.dc.feature_state(ctx.host, feature)
    return dotnet("Microsoft.Windows.ServerManager.Commands.Feature", feature.display_name, {
        "Name": feature.name, "DisplayName": feature.display_name, "Installed": state == "Installed",
        "InstallState": ps_enum(INSTALL_STATE[state], state), "FeatureType": feature.feature_type,
        "Path": feature.display_name, "Depth": 1, "DependsOn": [], "Parent": None,
        "SubFeatures": list(feature.tools), "SystemService": [], "Notification": [],
        "BestPracticesModelId": None, "EventQuery": None, "PostConfigurationNeeded": False,
        "AdditionalInfo": {}})


# -- ServerManager -----------------------------------------------------------------------------------
GET_FEATURE = SERVER_MANAGER + "GetWindowsFeatureCommand"


@cmdlet("ServerManager", "Get-WindowsFeature", {"Name": "value", "ComputerName": "value"}, positional=("Name",),
        command_type=GET_FEATURE)
def get_windows_feature(ctx, Name=None, ComputerName=None):
    with ctx.dc.lock:
        if Name is None:
            return [_feature_object(ctx, f) for f in FEATURES.values()]
        out = []
        for name in names_of(Name):
            feature = FEATURES.get(name.lower())
            if feature is not None:          # an unknown name gives nothing, as on Windows
                out.append(_feature_object(ctx, feature))
        return out


INSTALL_FEATURE = SERVER_MANAGER + "AddWindowsFeatureCommand"


@cmdlet("ServerManager", "Install-WindowsFeature", {"Name": "value", "IncludeManagementTools": "switch",
                                                    "IncludeAllSubFeature": "switch", "Restart": "switch",
                                                    "ComputerName": "value", "Source": "value", "LogPath": "value",
                                                    "WhatIf": "switch", "Confirm": "switch"},
        positional=("Name",), command_type=INSTALL_FEATURE)
def install_windows_feature(ctx, Name=None, IncludeManagementTools=False, IncludeAllSubFeature=False, Restart=False,
                            ComputerName=None, Source=None, LogPath=None, WhatIf=False, Confirm=None):
    names = names_of(Name)
    if not names:
        raise _missing(INSTALL_FEATURE, "Name")
    if truthy(WhatIf):
        return None
    if ComputerName is not None and ctx.dc.find_host(str(ComputerName)) is not ctx.host:
        raise fail("The lab installs features on the host the command runs on only.", "InvalidOperation",
                   "ComputerNameNotSupported", INSTALL_FEATURE)
    results = ctx.dc.install_features(ctx.host.key, names, truthy(IncludeManagementTools))
    changed = [f for f, c in results if c]
    restart = any(f.restart for f in changed)
    exit_code = "SuccessRestartRequired" if restart else ("Success" if changed else "NoChangeNeeded")
    if restart and truthy(Restart):
        ctx.dc.restart_host(ctx.host.key)
    needed = "Yes" if restart else "No"
    return dotnet(SERVER_MANAGER + "FeatureOperationResult", SERVER_MANAGER + "FeatureOperationResult", {
        "Success": True, "RestartNeeded": ps_enum(RESTART_NEEDED[needed], needed),
        "FeatureResult": [dotnet(SERVER_MANAGER + "FeatureResult", f.display_name, {
            "Name": f.name, "DisplayName": f.display_name, "Success": True,
            "RestartNeeded": f.restart, "SkipReason": ps_enum(0, "NotSkipped"), "Id": 0, "Message": ""})
            for f in changed],
        "ExitCode": ps_enum(EXIT_CODE[exit_code], exit_code)})


# -- NetTCPIP / DnsClient setters ------------------------------------------------------------------------
def _alias(ctx, alias, index, command):
    host = ctx.host
    if alias is not None:
        return names_of(alias)[0]
    if index is not None:
        wanted = as_int(names_of(index)[0], "InterfaceIndex", command)
        for nic in host.nics:
            if _if_index(host, nic) == wanted:
                return nic.name
        raise fail(f"No MSFT_NetIPInterface objects found with property 'InterfaceIndex' equal to '{wanted}'.  "
                   f"Verify the value of the property and retry.", "ObjectNotFound",
                   "CmdletizationQuery_NotFound_InterfaceIndex", command, CIM_EXCEPTION)
    raise _missing(command, "InterfaceAlias")


@cmdlet("NetTCPIP", "Set-NetIPInterface", {"InterfaceAlias": "value", "InterfaceIndex": "value", "Dhcp": "value",
                                           "AddressFamily": "value", "PassThru": "switch"},
        positional=("InterfaceAlias",), command_type="Set-NetIPInterface")
def set_net_ip_interface(ctx, InterfaceAlias=None, InterfaceIndex=None, Dhcp=None, AddressFamily=None,
                         PassThru=False):
    alias = _alias(ctx, InterfaceAlias, InterfaceIndex, "Set-NetIPInterface")
    if Dhcp is not None:
        state = choice(Dhcp, ("Enabled", "Disabled"), "Dhcp", "Set-NetIPInterface")
        ctx.dc.set_dhcp(ctx.host.key, alias, state == "Enabled")
    return None


@cmdlet("NetTCPIP", "New-NetIPAddress", {"IPAddress": "value", "InterfaceAlias": "value", "InterfaceIndex": "value",
                                         "PrefixLength": "value", "DefaultGateway": "value",
                                         "AddressFamily": "value", "Type": "value", "PolicyStore": "value",
                                         "SkipAsSource": "value"},
        positional=("IPAddress",), command_type="New-NetIPAddress")
def new_net_ip_address(ctx, IPAddress=None, InterfaceAlias=None, InterfaceIndex=None, PrefixLength=None,
                       DefaultGateway=None, AddressFamily=None, Type=None, PolicyStore=None, SkipAsSource=None):
    if IPAddress is None:
        raise _missing("New-NetIPAddress", "IPAddress")
    alias = _alias(ctx, InterfaceAlias, InterfaceIndex, "New-NetIPAddress")
    prefix = as_int(PrefixLength, "PrefixLength", "New-NetIPAddress") if PrefixLength is not None else 32
    nic = ctx.dc.new_ip_address(ctx.host.key, alias, str(IPAddress), prefix,
                                str(DefaultGateway) if DefaultGateway is not None else None)
    with ctx.dc.lock:
        host = ctx.host
        base = {"IPAddress": nic.ip, "InterfaceIndex": _if_index(host, nic), "InterfaceAlias": nic.name,
                "AddressFamily": ps_enum(2, "IPv4"), "Type": ps_enum(1, "Unicast"), "PrefixLength": nic.prefix_length,
                "PrefixOrigin": ps_enum(1, "Manual"), "SuffixOrigin": ps_enum(1, "Manual"), "SkipAsSource": False}
        # Windows answers one object per policy store.
        return [cim_instance("ROOT/StandardCimv2", "MSFT_NetIPAddress", host.name,
                             dict(base, AddressState=ps_enum(state, name), PolicyStore=store))
                for store, state, name in (("ActiveStore", 1, "Tentative"), ("PersistentStore", 0, "Invalid"))]


@cmdlet("NetTCPIP", "New-NetRoute", {"DestinationPrefix": "value", "InterfaceAlias": "value",
                                     "InterfaceIndex": "value", "NextHop": "value", "RouteMetric": "value",
                                     "AddressFamily": "value", "PolicyStore": "value", "Publish": "value"},
        command_type="New-NetRoute")
def new_net_route(ctx, DestinationPrefix=None, InterfaceAlias=None, InterfaceIndex=None, NextHop=None,
                  RouteMetric=None, AddressFamily=None, PolicyStore=None, Publish=None):
    if DestinationPrefix is None:
        raise _missing("New-NetRoute", "DestinationPrefix")
    if str(DestinationPrefix) != "0.0.0.0/0":
        # the lab keeps one default route per NIC and no other routes (stricter than Windows)
        raise fail("The lab only adds default routes (-DestinationPrefix 0.0.0.0/0).", "NotImplemented",
                   "LabNotModelled,New-NetRoute")
    if NextHop is None:
        raise _missing("New-NetRoute", "NextHop")
    alias = _alias(ctx, InterfaceAlias, InterfaceIndex, "New-NetRoute")
    nic = ctx.dc.new_default_route(ctx.host.key, alias, str(NextHop))
    with ctx.dc.lock:
        host = ctx.host
        base = {"DestinationPrefix": "0.0.0.0/0", "NextHop": nic.gateway, "InterfaceAlias": alias,
                "InterfaceIndex": _if_index(host, nic), "RouteMetric": 0, "AddressFamily": ps_enum(2, "IPv4")}
        return [cim_instance("ROOT/StandardCimv2", "MSFT_NetRoute", host.name, dict(base, PolicyStore=store))
                for store in ("ActiveStore", "PersistentStore")]


@cmdlet("DnsClient", "Set-DnsClientServerAddress", {"InterfaceAlias": "value", "InterfaceIndex": "value",
                                                    "ServerAddresses": "value", "ResetServerAddresses": "switch",
                                                    "PassThru": "switch"},
        positional=("InterfaceAlias",), command_type="Set-DnsClientServerAddress")
def set_dns_client_server_address(ctx, InterfaceAlias=None, InterfaceIndex=None, ServerAddresses=None,
                                  ResetServerAddresses=False, PassThru=False):
    alias = _alias(ctx, InterfaceAlias, InterfaceIndex, "Set-DnsClientServerAddress")
    if truthy(ResetServerAddresses):
        ctx.dc.set_dns_servers(ctx.host.key, alias, None)
    elif ServerAddresses is not None:
        ctx.dc.set_dns_servers(ctx.host.key, alias, [str(s) for s in as_list(ServerAddresses)])
    else:
        raise fail("Parameter set cannot be resolved using the specified named parameters.", "InvalidArgument",
                   "AmbiguousParameterSet", "Set-DnsClientServerAddress", BINDING)
    return None


# -- Hyper-V virtual switches ---------------------------------------------------------------------------
HV = "Microsoft.HyperV.PowerShell."


def switch_object(ctx, switch) -> dict:
    host = ctx.host
    nic = next((n for n in host.nics if n.name == switch.adapter), None)
    return dotnet(HV + "VMSwitch", switch.name, {
        "Name": switch.name, "Id": switch.id,
        "SwitchType": ps_enum(SWITCH_TYPES[switch.switch_type], switch.switch_type),
        "AllowManagementOS": switch.management_os, "NetAdapterInterfaceDescription":
            f"{host.manufacturer} {nic.link_speed_gbps:g}GbE Adapter #{host.nics.index(nic) + 1}" if nic else "",
        "NetAdapterInterfaceDescriptions": [] if nic is None else
            [f"{host.manufacturer} {nic.link_speed_gbps:g}GbE Adapter #{host.nics.index(nic) + 1}"],
        "EmbeddedTeamingEnabled": False, "BandwidthReservationMode": ps_enum(1, "Weight"),
        "ComputerName": host.name, "IsDeleted": False})


@cmdlet("Hyper-V", "New-VMSwitch", {"Name": "value", "NetAdapterName": "value", "SwitchType": "value",
                                    "AllowManagementOS": "value", "EnableEmbeddedTeaming": "value",
                                    "MinimumBandwidthMode": "value", "ComputerName": "value", "Notes": "value"},
        positional=("Name",), command_type=HV + "Commands.NewVMSwitch")
def new_vm_switch(ctx, Name=None, NetAdapterName=None, SwitchType=None, AllowManagementOS=None,
                  EnableEmbeddedTeaming=None, MinimumBandwidthMode=None, ComputerName=None, Notes=None):
    if Name is None:
        raise _missing(HV + "Commands.NewVMSwitch", "Name")
    kind = choice(SwitchType, ("Private", "Internal"), "SwitchType", HV + "Commands.NewVMSwitch") \
        if SwitchType is not None else None
    switch = ctx.dc.new_switch(ctx.host.key, str(Name), names_of(NetAdapterName)[0] if NetAdapterName else None,
                               kind, truthy(AllowManagementOS) if AllowManagementOS is not None else None)
    with ctx.dc.lock:
        return switch_object(ctx, switch)


@cmdlet("Hyper-V", "Get-VMSwitch", {"Name": "value", "SwitchType": "value", "ComputerName": "value"},
        positional=("Name",), command_type=HV + "Commands.GetVMSwitch")
def get_vm_switch(ctx, Name=None, SwitchType=None, ComputerName=None):
    with ctx.dc.lock:
        switches = ctx.host.switches
        if SwitchType is not None:
            kind = choice(SwitchType, tuple(SWITCH_TYPES), "SwitchType", HV + "Commands.GetVMSwitch")
            switches = [s for s in switches if s.switch_type == kind]
        if Name is not None:
            wanted = {n.lower() for n in names_of(Name)}
            switches = [s for s in switches if s.name.lower() in wanted]
            if not switches:
                raise fail(f"Hyper-V was unable to find a virtual switch with name \"{Name}\".", "InvalidArgument",
                           "InvalidParameter", HV + "Commands.GetVMSwitch", "System.ArgumentException")
        return [switch_object(ctx, s) for s in switches]


@cmdlet("Hyper-V", "Get-VMNetworkAdapter", {"ManagementOS": "switch", "Name": "value", "SwitchName": "value",
                                            "VMName": "value", "All": "switch", "ComputerName": "value"},
        command_type=HV + "Commands.GetVMNetworkAdapter")
def get_vm_network_adapter(ctx, ManagementOS=False, Name=None, SwitchName=None, VMName=None, All=False,
                           ComputerName=None):
    if not truthy(ManagementOS) and not truthy(All) and VMName is None:
        raise fail("Parameter set cannot be resolved using the specified named parameters.", "InvalidArgument",
                   "AmbiguousParameterSet", HV + "Commands.GetVMNetworkAdapter", BINDING)
    if VMName is not None:
        raise fail("The lab models no VM network adapters; use -ManagementOS.", "NotImplemented",
                   "NotImplemented", HV + "Commands.GetVMNetworkAdapter")
    with ctx.dc.lock:
        host = ctx.host
        out = []
        for switch in host.switches:
            if not switch.management_os:
                continue
            if Name is not None and switch.name.lower() not in {n.lower() for n in names_of(Name)}:
                continue
            if SwitchName is not None and switch.name.lower() not in {n.lower() for n in names_of(SwitchName)}:
                continue
            nic = next((n for n in host.nics if n.name == switch.adapter), None)
            mac = (switch.management_mac or "00-15-5D-00-00-00").replace("-", "")
            out.append(dotnet(HV + "VMInternalNetworkAdapter", f"VMInternalNetworkAdapter (Name = '{switch.name}')", {
                "Name": switch.name, "Id": f"Microsoft:{switch.id}", "IsManagementOs": True, "VMName": "",
                "SwitchName": switch.name, "SwitchId": switch.id, "MacAddress": mac,
                "Status": ["Ok"], "IPAddresses": [nic.ip] if nic and nic.ip else [], "ComputerName": host.name,
                "IsDeleted": False}))
        return out


# -- DhcpServer -------------------------------------------------------------------------------------------
def _require_dhcp(ctx, command):
    if "DHCP" not in ctx.host.features or ctx.dc.deployment_host() is not ctx.host:
        raise fail("Failed to get the DHCP server: the DHCP Server service is not running on this computer.",
                   "ObjectNotFound", "DHCP 20010", command, DHCP_EXCEPTION)


def reservation_object(ctx, reservation) -> dict:
    return cim_instance("root/Microsoft/Windows/DHCP", "DhcpServerv4Reservation", ctx.host.name, {
        "IPAddress": reservation.ip, "ScopeId": reservation.scope_id, "ClientId": reservation.client_id.lower(),
        "Name": reservation.name, "Type": reservation.type, "Description": reservation.description,
        "AddressState": "InactiveReservation"})


@cmdlet("DhcpServer", "Get-DhcpServerv4Scope", {"ScopeId": "value", "ComputerName": "value"}, positional=("ScopeId",),
        command_type="Get-DhcpServerv4Scope")
def get_dhcp_server_v4_scope(ctx, ScopeId=None, ComputerName=None):
    _require_dhcp(ctx, "Get-DhcpServerv4Scope")
    if ScopeId is not None:
        ctx.dc.dhcp_scope(str(ScopeId))
    return cim_instance("root/Microsoft/Windows/DHCP", "DhcpServerv4Scope", ctx.host.name, {
        "ScopeId": str(SCOPE.network_address), "SubnetMask": str(SCOPE.netmask), "Name": SCOPE_NAME,
        "State": "Active", "StartRange": LEASE_RANGE[0], "EndRange": LEASE_RANGE[1],
        "LeaseDuration": "8.00:00:00", "Type": "Dhcp", "Description": ""})


ADD_RESERVATION = "Add-DhcpServerv4Reservation"


@cmdlet("DhcpServer", ADD_RESERVATION, {"ScopeId": "value", "IPAddress": "value", "ClientId": "value",
                                        "Name": "value", "Description": "value", "Type": "value",
                                        "ComputerName": "value", "PassThru": "switch"},
        positional=("ScopeId", "IPAddress", "ClientId"), command_type=ADD_RESERVATION)
def add_dhcp_server_v4_reservation(ctx, ScopeId=None, IPAddress=None, ClientId=None, Name=None, Description=None,
                                   Type=None, ComputerName=None, PassThru=False):
    _require_dhcp(ctx, ADD_RESERVATION)
    missing = [n for n, v in (("ScopeId", ScopeId), ("IPAddress", IPAddress), ("ClientId", ClientId)) if v is None]
    if missing:
        raise _missing(ADD_RESERVATION, *missing)
    kind = choice(Type or "Dhcp", ("Dhcp", "Bootp", "Both"), "Type", ADD_RESERVATION)
    from lab.datacenter.deployment import device_id
    try:
        device_id(str(ClientId))
    except Exception:
        raise fail(f"Failed to add reservation {IPAddress}: the client ID '{ClientId}' is not a MAC address.",
                   "InvalidArgument", "DHCP 20021", ADD_RESERVATION, DHCP_EXCEPTION) from None
    reservation = ctx.dc.add_reservation(str(ScopeId), str(IPAddress), str(ClientId),
                                         str(Name) if Name is not None else None, str(Description or ""), kind)
    return reservation_object(ctx, reservation) if truthy(PassThru) else None


GET_RESERVATION = "Get-DhcpServerv4Reservation"


@cmdlet("DhcpServer", GET_RESERVATION, {"ScopeId": "value", "ClientId": "value", "IPAddress": "value",
                                        "ComputerName": "value"},
        positional=("ScopeId", "ClientId"), command_type=GET_RESERVATION)
def get_dhcp_server_v4_reservation(ctx, ScopeId=None, ClientId=None, IPAddress=None, ComputerName=None):
    _require_dhcp(ctx, GET_RESERVATION)
    if ScopeId is None and IPAddress is None:
        raise _missing(GET_RESERVATION, "ScopeId")
    if ClientId is not None and ScopeId is None:
        raise _missing(GET_RESERVATION, "ScopeId")
    found = ctx.dc.find_reservations(str(ScopeId) if ScopeId is not None else None, names_of(ClientId),
                                     names_of(IPAddress))
    if (ClientId is not None or IPAddress is not None) and not found:
        what = ", ".join(names_of(ClientId) + names_of(IPAddress))
        raise fail(f"Failed to get reservation {what} on DHCP server {ctx.host.name}. The specified reserved IP "
                   f"address or client does not exist.", "ObjectNotFound", "DHCP 20018", GET_RESERVATION,
                   DHCP_EXCEPTION)
    with ctx.dc.lock:
        return [reservation_object(ctx, r) for r in found]


REMOVE_RESERVATION = "Remove-DhcpServerv4Reservation"


@cmdlet("DhcpServer", REMOVE_RESERVATION, {"ScopeId": "value", "ClientId": "value", "IPAddress": "value",
                                           "ComputerName": "value", "PassThru": "switch", "Confirm": "switch",
                                           "WhatIf": "switch"},
        positional=("ScopeId", "ClientId"), command_type=REMOVE_RESERVATION)
def remove_dhcp_server_v4_reservation(ctx, ScopeId=None, ClientId=None, IPAddress=None, ComputerName=None,
                                      PassThru=False, Confirm=None, WhatIf=False):
    _require_dhcp(ctx, REMOVE_RESERVATION)
    if ScopeId is None and IPAddress is None:
        raise _missing(REMOVE_RESERVATION, "ScopeId")
    if truthy(WhatIf):
        return None
    removed = ctx.dc.remove_reservations(str(ScopeId) if ScopeId is not None else None, names_of(ClientId),
                                         names_of(IPAddress))
    with ctx.dc.lock:
        return [reservation_object(ctx, r) for r in removed] if truthy(PassThru) else None
