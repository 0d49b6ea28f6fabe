"""The OS: Get-CimInstance (Win32_*), Restart-Computer, NetAdapter/NetTCPIP/DnsClient, Storage, Get-HotFix."""
from __future__ import annotations

import ipaddress

from lab.cmdlets import wql
from lab.cmdlets.binding import (
    cdxml_not_found,
    cdxml_query_not_found,
    enum_values,
    has_wildcard,
    like_clause,
    matches,
    not_empty,
    one_set,
    require,
    unsigned,
)
from lab.cmdlets.common import cim_instance, cmdlet, dotnet, fail, names_of, ps_enum, truthy
from lab.datacenter.model import Host

CIM = "Microsoft.Management.Infrastructure.CimCmdlets."
CIM_EXCEPTION = "Microsoft.Management.Infrastructure.CimException"
CIMV2 = "root/cimv2"
WU_NAMESPACE = "root/microsoft/windows/windowsupdate"


def os_object(dc, host: Host) -> dict:
    used = host.memory_in_use() if host.role == "hyperv" else host.memory // 8
    return {
        "Name": f"{host.os.caption}|C:\\Windows|\\Device\\Harddisk0\\Partition2",
        "Caption": host.os.caption, "Version": host.os.version, "BuildNumber": str(host.os.build),
        "CSName": host.name, "OSArchitecture": "64-bit", "OperatingSystemSKU": 8, "ProductType": 3,
        "LastBootUpTime": host.last_boot, "InstallDate": host.install_date, "LocalDateTime": dc.clock.now(),
        "TotalVisibleMemorySize": host.memory // 1024, "FreePhysicalMemory": max(host.memory - used, 0) // 1024,
        "ServicePackMajorVersion": 0, "SystemDrive": "C:", "WindowsDirectory": "C:\\Windows",
        "Manufacturer": "Microsoft Corporation", "Organization": "", "SerialNumber": "00454-60000-00001-AA000",
    }


def computer_system_object(dc, host: Host) -> dict:
    return {
        "Name": host.name, "DNSHostName": host.name, "Domain": host.domain or "WORKGROUP",
        "PartOfDomain": host.domain is not None, "Workgroup": None if host.domain else "WORKGROUP",
        "TotalPhysicalMemory": host.memory, "Manufacturer": host.manufacturer, "Model": host.model,
        "NumberOfProcessors": 2, "NumberOfLogicalProcessors": host.cpus, "DomainRole": 3,
        "SystemType": "x64-based PC", "HypervisorPresent": host.role == "hyperv",
    }


def bios_object(dc, host: Host) -> dict:
    return {"SerialNumber": host.serial_number, "Manufacturer": host.manufacturer,
            "SMBIOSBIOSVersion": "2.19.1", "Name": "Default System BIOS", "Version": "CONTSO - 1"}


CIMV2_CLASSES = {
    "win32_operatingsystem": ("Win32_OperatingSystem", os_object),
    "win32_computersystem": ("Win32_ComputerSystem", computer_system_object),
    "win32_bios": ("Win32_BIOS", bios_object),
}


def _namespace(value) -> str:
    return (value or CIMV2).replace("\\", "/").strip("/").lower()


def _cim_error(message, hresult, category, command):
    return fail(message, category, f"HRESULT 0x{hresult:x}", CIM + command, CIM_EXCEPTION)


GET_CIM = "GetCimInstanceCommand"
# Key properties: what -KeyOnly keeps, and what -Property / SELECT list keep besides the ones named.
KEYS = {"Win32_OperatingSystem": ("Name",), "Win32_ComputerSystem": ("Name",), "Win32_BIOS": ("Name", "Version"),
        "Win32_QuickFixEngineering": ("HotFixID", "ServicePackInEffect")}


def _instances(ctx, host, namespace: str, class_name: str) -> tuple[str, list[dict]]:
    """(the class's own spelling, its instances' properties) in a namespace the lab serves."""
    lowered = class_name.lower()
    if namespace == CIMV2 and lowered in CIMV2_CLASSES:
        name, build = CIMV2_CLASSES[lowered]
        return name, [build(ctx.dc, host)]
    if namespace == CIMV2 and lowered == "win32_quickfixengineering":
        # WMI keeps InstalledOn as text ("12/10/2024"); only Get-HotFix makes a DateTime of it.
        return "Win32_QuickFixEngineering", [
            dict(h, InstalledOn=f"{h['InstalledOn'].month}/{h['InstalledOn'].day}/{h['InstalledOn'].year}")
            for h in hotfixes(ctx.dc, host)]
    if namespace == WU_NAMESPACE and lowered in ("msft_wusettings", "msft_wuoperations"):
        raise _cim_error("Not supported ", 0x8004100C, "NotImplemented", GET_CIM)
    if namespace not in (CIMV2, WU_NAMESPACE, "root/microsoft/windows/storage", "root/standardcimv2"):
        raise _cim_error("Invalid namespace ", 0x8004100E, "MetadataError", GET_CIM)
    raise _cim_error("Invalid class ", 0x80041010, "MetadataError", GET_CIM)


def _only(properties: dict, keep: list[str]) -> dict:
    """An instance read with a property list: the others are there, but empty."""
    wanted = {k.lower() for k in keep}
    unknown = wanted - {k.lower() for k in properties}
    if unknown:
        raise _cim_error("Invalid query ", 0x80041017, "InvalidArgument", GET_CIM)
    return {k: (v if k.lower() in wanted else None) for k, v in properties.items()}


@cmdlet("CimCmdlets", "Get-CimInstance", {"ClassName": "value", "Namespace": "value", "Filter": "value",
                                          "Property": "value", "ComputerName": "value", "Query": "value",
                                          "KeyOnly": "switch", "QueryDialect": "value", "OperationTimeoutSec": "value",
                                          "Shallow": "switch"},
        positional=("ClassName",), command_type=CIM + GET_CIM)
def get_cim_instance(ctx, ClassName=None, Namespace=None, Filter=None, Property=None, ComputerName=None,
                     Query=None, KeyOnly=False, QueryDialect=None, OperationTimeoutSec=None, Shallow=False):
    command = CIM + GET_CIM
    one_set(command, {"ClassName": ClassName, "Filter": Filter, "Property": Property, "KeyOnly": KeyOnly},
            {"Query": Query})
    if QueryDialect is not None and str(QueryDialect).upper() != "WQL":
        raise _cim_error("The query language is not supported ", 0x80041011, "NotImplemented", GET_CIM)
    selected, where = (names_of(Property) or None), (str(Filter) if Filter is not None else None)
    if Query is not None:
        try:
            selected, ClassName, where = wql.parse_select(str(Query))
        except wql.InvalidQuery:
            raise _cim_error("Invalid query ", 0x80041017, "InvalidArgument", GET_CIM) from None
    require(command, ClassName=ClassName)
    namespace = _namespace(Namespace)
    host = _target_host(ctx, ComputerName, command)
    with ctx.dc.lock:
        class_name, instances = _instances(ctx, host, namespace, str(ClassName))
    keys = KEYS.get(class_name, ())
    out = []
    for properties in instances:
        try:
            if not wql.matches(where, properties):
                continue
        except wql.InvalidQuery:
            raise _cim_error("Invalid query ", 0x80041017, "InvalidArgument", GET_CIM) from None
        if truthy(KeyOnly):
            properties = _only(properties, list(keys))
        elif selected:
            properties = _only(properties, selected + list(keys))
        key = f'{keys[0]} = "{properties[keys[0]]}"' if keys and properties.get(keys[0]) is not None else None
        out.append(cim_instance(CIMV2, class_name, host.name, properties, key=key))
    return out


def _target_host(ctx, computer_name, command_type) -> Host:
    names = names_of(computer_name)
    if not names:
        return ctx.host
    name = names[0]
    if name.lower() in ("localhost", ".", "127.0.0.1"):
        return ctx.host
    host = ctx.dc.find_host(name)
    if host is None or not host.online:
        raise fail(f"WinRM cannot complete the operation. Verify that the specified computer name '{name}' is "
                   f"valid, that the computer is accessible over the network.", "ConnectionError",
                   "HRESULT 0x80338126", command_type, CIM_EXCEPTION)
    return host


RESTART = "Microsoft.PowerShell.Commands.RestartComputerCommand"


@cmdlet("Microsoft.PowerShell.Management", "Restart-Computer",
        {"ComputerName": "value", "Force": "switch", "Wait": "switch", "Confirm": "switch", "Timeout": "value",
         "For": "value", "Credential": "value"}, positional=("ComputerName",), command_type=RESTART)
def restart_computer(ctx, ComputerName=None, Force=False, Wait=False, Confirm=None, Timeout=None, For=None,
                     Credential=None):
    host = ctx.host
    if ComputerName is not None:
        not_empty(ComputerName, "ComputerName", RESTART)
    enum_values(For, {"Wmi": 0, "WinRM": 1, "PowerShell": 2}, "For", "Microsoft.PowerShell.Commands.WaitForServiceTypes",
                RESTART)
    if Timeout is not None and (not str(Timeout).lstrip("-").isdigit() or int(Timeout) < -1):
        raise fail(f"Cannot validate argument on parameter 'Timeout'. The {Timeout} argument is less than the minimum "
                   f"allowed range of -1. Supply an argument that is greater than or equal to -1 and then try the "
                   f"command again.", "InvalidData", "ParameterArgumentValidationError", RESTART,
                   "System.Management.Automation.ParameterBindingValidationException")
    names = names_of(ComputerName)
    if names:
        target = _target_host(ctx, names[0], RESTART)
        if target is not host:
            raise fail(f"Failed to restart the computer {names[0]}: the lab only restarts the host the command "
                       f"runs on; connect to {names[0]} instead.", "OperationStopped", "RestartcomputerFailed",
                       RESTART)
    if truthy(Wait):
        raise fail("Cannot wait for the local computer to restart. The local computer is ignored when the "
                   "Wait parameter is specified.", "InvalidOperation", "CannotWaitLocalComputer", RESTART)
    if not truthy(Force):
        # Windows refuses while other users are logged on; whether the WinRM session itself counts
        # is not documented, so the lab always asks for -Force (unconfirmed, stricter).
        raise fail(f"Failed to restart the computer {host.name} with the following error message: The system "
                   f"shutdown cannot be initiated because there are other users logged on to the computer.",
                   "OperationStopped", "RestartcomputerFailed", RESTART, target=host.name)
    ctx.dc.restart_host(host.key)
    return None


# -- network -------------------------------------------------------------------------------------------
def _if_index(host: Host, nic) -> int:
    return 10 + host.nics.index(nic) * 3


def adapter_object(host: Host, nic) -> dict:
    speed = nic.link_speed_gbps
    return cim_instance("ROOT/StandardCimv2", "MSFT_NetAdapter", host.name, {
        "Name": nic.name, "InterfaceAlias": nic.name, "ifAlias": nic.name,
        "InterfaceDescription": f"{host.manufacturer} {speed:g}GbE Adapter #{host.nics.index(nic) + 1}",
        "ifIndex": _if_index(host, nic), "InterfaceIndex": _if_index(host, nic), "Status": "Up",
        "MacAddress": nic.mac, "LinkSpeed": f"{speed:g} Gbps", "Speed": int(speed * 1e9),
        "MediaConnectionState": ps_enum(1, "Connected"), "MtuSize": 1500, "FullDuplex": True, "Virtual": False,
        "DriverDescription": f"{host.manufacturer} {speed:g}GbE Adapter", "InterfaceOperationalStatus": 1,
    }, key=f"Name = \"{nic.name}\"")


ADDRESS_FAMILY = {"IPv4": 2, "IPv6": 23}
PREFIX_ORIGIN = {"Other": 0, "Manual": 1, "WellKnown": 2, "Dhcp": 3, "RouterAdvertisement": 4}
STANDARD_CIMV2 = "ROOT/StandardCimv2"


def _families(value, command) -> set[int]:
    return set(enum_values(value, ADDRESS_FAMILY, "AddressFamily", "AddressFamily[]", command)) or {2, 23}


def _nics(host: Host, alias=None, index=None, command: str = ""):
    """The NICs an -InterfaceAlias (wildcards) / -InterfaceIndex pair selects."""
    aliases = names_of(alias)
    indexes = set(unsigned(index, "InterfaceIndex", "System.UInt32[]", command)) if index is not None else set()
    return [n for n in host.nics
            if (not aliases or matches(n.name, aliases)) and (not indexes or _if_index(host, n) in indexes)]


def _exact(values) -> list[str]:
    return [v for v in names_of(values) if not has_wildcard(v)]


ADAPTER = "Get-NetAdapter"


@cmdlet("NetAdapter", ADAPTER, {"Name": "value", "InterfaceDescription": "value", "InterfaceIndex": "value",
                                "Physical": "switch", "IncludeHidden": "switch"},
        positional=("Name",), command_type=ADAPTER)
def get_net_adapter(ctx, Name=None, InterfaceDescription=None, InterfaceIndex=None, Physical=False,
                    IncludeHidden=False):
    one_set(ADAPTER, {"Name": Name}, {"InterfaceDescription": InterfaceDescription},
            {"InterfaceIndex": InterfaceIndex})
    indexes = unsigned(InterfaceIndex, "InterfaceIndex", "System.UInt32[]", ADAPTER)
    with ctx.dc.lock:
        host = ctx.host
        nics = list(host.nics)
        for value in names_of(Name):
            if not has_wildcard(value) and not any(matches(n.name, [value]) for n in nics):
                raise cdxml_not_found("MSFT_NetAdapter", "Name", value, ADAPTER)
        for value in indexes:
            if not any(_if_index(host, n) == value for n in nics):
                raise cdxml_not_found("MSFT_NetAdapter", "InterfaceIndex", value, ADAPTER)
        adapters = [adapter_object(host, n) for n in nics]
        for value in names_of(InterfaceDescription):
            if not has_wildcard(value) and not any(matches(a["InterfaceDescription"], [value]) for a in adapters):
                raise cdxml_not_found("MSFT_NetAdapter", "InterfaceDescription", value, ADAPTER)
        return [a for a in adapters
                if (Name is None or matches(a["Name"], names_of(Name)))
                and (not indexes or a["ifIndex"] in indexes)
                and (InterfaceDescription is None or matches(a["InterfaceDescription"], names_of(InterfaceDescription)))]


def _ip(host, props):
    return cim_instance(STANDARD_CIMV2, "MSFT_NetIPAddress", host.name, props)


def ip_alias(host: Host, nic) -> str:
    """The interface that holds a NIC's IP settings: the NIC itself, or once it is bound to an external
    switch shared with the management OS, that switch's management vNIC `vEthernet (SWITCH)`."""
    for switch in host.switches:
        if switch.adapter == nic.name and switch.management_os:
            return f"vEthernet ({switch.name})"
    return nic.name


def _ip_objects(host: Host) -> list[dict]:
    out = []
    for nic in host.nics:
        index = _if_index(host, nic)
        if nic.ip:
            out.append(_ip(host, {"IPAddress": nic.ip, "InterfaceIndex": index, "InterfaceAlias": ip_alias(host, nic),
                                  "AddressFamily": ps_enum(2, "IPv4"), "Type": ps_enum(1, "Unicast"),
                                  "PrefixLength": nic.prefix_length, "PrefixOrigin": ps_enum(1, "Manual"),
                                  "SuffixOrigin": ps_enum(1, "Manual"), "AddressState": ps_enum(4, "Preferred"),
                                  "SkipAsSource": False, "PolicyStore": "ActiveStore"}))
        mac = nic.mac.replace("-", "").lower()
        out.append(_ip(host, {"IPAddress": f"fe80::{mac[:4]}:{mac[4:8]}:{mac[8:]}%{index}", "InterfaceIndex": index,
                              "InterfaceAlias": ip_alias(host, nic), "AddressFamily": ps_enum(23, "IPv6"),
                              "Type": ps_enum(1, "Unicast"), "PrefixLength": 64,
                              "PrefixOrigin": ps_enum(2, "WellKnown"), "SuffixOrigin": ps_enum(4, "Link"),
                              "AddressState": ps_enum(4, "Preferred"), "SkipAsSource": False,
                              "PolicyStore": "ActiveStore"}))
    return out


IP_ADDRESS = "Get-NetIPAddress"


@cmdlet("NetTCPIP", IP_ADDRESS, {"IPAddress": "value", "InterfaceAlias": "value", "InterfaceIndex": "value",
                                 "AddressFamily": "value", "PrefixOrigin": "value", "PrefixLength": "value"},
        positional=("IPAddress",), command_type=IP_ADDRESS)
def get_net_ip_address(ctx, IPAddress=None, InterfaceAlias=None, InterfaceIndex=None, AddressFamily=None,
                       PrefixOrigin=None, PrefixLength=None):
    families = _families(AddressFamily, IP_ADDRESS)
    origins = set(enum_values(PrefixOrigin, PREFIX_ORIGIN, "PrefixOrigin", "PrefixOrigin[]", IP_ADDRESS))
    lengths = set(unsigned(PrefixLength, "PrefixLength", "System.Byte[]", IP_ADDRESS))
    indexes = set(unsigned(InterfaceIndex, "InterfaceIndex", "System.UInt32[]", IP_ADDRESS))
    with ctx.dc.lock:
        out = [o for o in _ip_objects(ctx.host)
               if (IPAddress is None or matches(o["IPAddress"], names_of(IPAddress)))
               and (InterfaceAlias is None or matches(o["InterfaceAlias"], names_of(InterfaceAlias)))
               and (not indexes or o["InterfaceIndex"] in indexes)
               and int(o["AddressFamily"]) in families and (not origins or int(o["PrefixOrigin"]) in origins)
               and (not lengths or o["PrefixLength"] in lengths)]
    where = []
    if IPAddress is not None:
        where.append(like_clause("IPAddress", names_of(IPAddress)))
    if InterfaceAlias is not None:
        where.append(like_clause("InterfaceAlias", names_of(InterfaceAlias)))
    where += [" OR ".join(f"(InterfaceIndex = {i})" for i in sorted(indexes))] if indexes else []
    where += [" OR ".join(f"(AddressFamily = {f})" for f in sorted(families))] if AddressFamily is not None else []
    where += [" OR ".join(f"(PrefixOrigin = {o})" for o in sorted(origins))] if origins else []
    exact = _exact(IPAddress) + _exact(InterfaceAlias)
    if not out and where and (exact or (IPAddress is None and InterfaceAlias is None)):
        raise cdxml_query_not_found(STANDARD_CIMV2, "MSFT_NetIPAddress", where, IP_ADDRESS)
    return out


DNS = "Get-DnsClientServerAddress"


@cmdlet("DnsClient", DNS, {"InterfaceAlias": "value", "InterfaceIndex": "value", "AddressFamily": "value"},
        positional=("InterfaceAlias",), command_type=DNS)
def get_dns_client_server_address(ctx, InterfaceAlias=None, InterfaceIndex=None, AddressFamily=None):
    families = _families(AddressFamily, DNS)
    with ctx.dc.lock:
        host = ctx.host
        nics = _nics(host, InterfaceAlias, InterfaceIndex, DNS)
        for value in _exact(InterfaceAlias):
            if not any(matches(n.name, [value]) for n in nics):
                raise cdxml_not_found("MSFT_DNSClientServerAddress", "InterfaceAlias", value, DNS)
        out = []
        for nic in nics:
            for family, name in ((2, "IPv4"), (23, "IPv6")):
                if family in families:
                    out.append(cim_instance(STANDARD_CIMV2, "MSFT_DNSClientServerAddress", host.name, {
                        "InterfaceAlias": nic.name, "InterfaceIndex": _if_index(host, nic),
                        "AddressFamily": ps_enum(family, name),
                        "ServerAddresses": list(nic.dns) if family == 2 else []}))
        return out


ROUTE = "Get-NetRoute"


@cmdlet("NetTCPIP", ROUTE, {"DestinationPrefix": "value", "InterfaceAlias": "value", "InterfaceIndex": "value",
                            "AddressFamily": "value", "NextHop": "value"},
        positional=("DestinationPrefix",), command_type=ROUTE)
def get_net_route(ctx, DestinationPrefix=None, InterfaceAlias=None, InterfaceIndex=None, AddressFamily=None,
                  NextHop=None):
    families = _families(AddressFamily, ROUTE)
    with ctx.dc.lock:
        host = ctx.host
        out = []
        for nic in _nics(host, InterfaceAlias, InterfaceIndex, ROUTE):
            if 2 not in families:
                continue
            index = _if_index(host, nic)
            routes = []
            if nic.gateway:
                routes.append(("0.0.0.0/0", nic.gateway, 0))
            if nic.ip:
                subnet = ipaddress.IPv4Interface(f"{nic.ip}/{nic.prefix_length}").network
                routes.append((str(subnet), "0.0.0.0", 256))
            for prefix, hop, metric in routes:
                out.append(cim_instance(STANDARD_CIMV2, "MSFT_NetRoute", host.name, {
                    "DestinationPrefix": prefix, "NextHop": hop, "InterfaceAlias": ip_alias(host, nic),
                    "InterfaceIndex": index,
                    "RouteMetric": metric, "AddressFamily": ps_enum(2, "IPv4"), "TypeOfRoute": ps_enum(3, "Manual"),
                    "Protocol": ps_enum(3, "NetMgmt")}))
    if DestinationPrefix is not None:
        out = [o for o in out if o["DestinationPrefix"] in names_of(DestinationPrefix)]
    if NextHop is not None:
        out = [o for o in out if o["NextHop"] in names_of(NextHop)]
    if not out and (DestinationPrefix is not None or NextHop is not None):
        where = [like_clause(name, names_of(value)) for name, value in
                 (("DestinationPrefix", DestinationPrefix), ("NextHop", NextHop)) if value is not None]
        raise cdxml_query_not_found(STANDARD_CIMV2, "MSFT_NetRoute", where, ROUTE)
    return out


DISK = "Get-Disk"


@cmdlet("Storage", DISK, {"Number": "value", "FriendlyName": "value", "SerialNumber": "value", "UniqueId": "value"},
        positional=("Number",), command_type=DISK)
def get_disk(ctx, Number=None, FriendlyName=None, SerialNumber=None, UniqueId=None):
    one_set(DISK, {"Number": Number}, {"FriendlyName": FriendlyName, "SerialNumber": SerialNumber},
            {"UniqueId": UniqueId})
    numbers = unsigned(Number, "Number", "System.UInt32[]", DISK)
    with ctx.dc.lock:
        host = ctx.host
        disks = []
        for disk in host.disks:
            size = int(disk.size_gb * 2**30)
            disks.append(cim_instance("ROOT/Microsoft/Windows/Storage", "MSFT_Disk", host.name, {
                "Number": disk.number, "FriendlyName": disk.friendly_name, "SerialNumber": disk.serial_number,
                "Model": disk.friendly_name, "Size": size, "AllocatedSize": size, "IsBoot": disk.is_boot,
                "IsSystem": disk.is_system, "IsClustered": disk.is_clustered, "IsOffline": False,
                "IsReadOnly": False, "BusType": disk.bus_type, "PartitionStyle": disk.partition_style,
                "OperationalStatus": "Online", "HealthStatus": "Healthy", "NumberOfPartitions": 3,
                "UniqueId": f"{host.serial_number}{disk.number:04d}",
                "Location": f"PCIROOT(0)#PCI(0100)#SAS(P00T00L0{disk.number})"}))
    for parameter, values, exact in (("Number", [str(n) for n in numbers], True),
                                     ("FriendlyName", names_of(FriendlyName), False),
                                     ("SerialNumber", names_of(SerialNumber), True),
                                     ("UniqueId", names_of(UniqueId), True)):
        if not values:
            continue
        for value in values:
            if (exact or not has_wildcard(value)) and not any(
                    (str(d[parameter]) == value if exact else matches(str(d[parameter]), [value])) for d in disks):
                raise cdxml_not_found("MSFT_Disk", parameter, value, DISK)
        disks = [d for d in disks
                 if (str(d[parameter]) in values if exact else matches(str(d[parameter]), values))]
    return disks


# -- installed updates -----------------------------------------------------------------------------------
CLASSIFICATION_SINGULAR = {"Security Updates": "Security Update", "Critical Updates": "Hotfix",
                           "Updates": "Update", "Update Rollups": "Update"}


def hotfixes(dc, host: Host) -> list[dict]:
    out = []
    for update_id, installed_on in sorted(host.installed.items(), key=lambda kv: kv[1]):
        update = dc.updates.get(update_id)
        if update is None:
            continue
        out.append(dotnet("System.Management.ManagementObject#root\\cimv2\\Win32_QuickFixEngineering",
                          f"\\\\{host.name}\\root\\cimv2:Win32_QuickFixEngineering.HotFixID=\"KB{update.kb}\","
                          "ServicePackInEffect=\"\"",
                          {"HotFixID": f"KB{update.kb}",
                           "Description": CLASSIFICATION_SINGULAR.get(update.classification, "Update"),
                           "InstalledOn": installed_on, "InstalledBy": "NT AUTHORITY\\SYSTEM", "CSName": host.name,
                           "ServicePackInEffect": "",
                           "Caption": f"https://support.microsoft.com/help/{update.kb}"}))
    return out


HOTFIX = "Microsoft.PowerShell.Commands.GetHotFixCommand"


@cmdlet("Microsoft.PowerShell.Management", "Get-HotFix", {"Id": "value", "ComputerName": "value",
                                                          "Description": "value"},
        positional=("Id",), command_type=HOTFIX)
def get_hotfix(ctx, Id=None, ComputerName=None, Description=None):
    one_set(HOTFIX, {"Id": Id}, {"Description": Description})
    host = _target_host(ctx, ComputerName, HOTFIX)
    with ctx.dc.lock:
        items = hotfixes(ctx.dc, host)
    if Description is not None:
        return [i for i in items if matches(i["Description"], names_of(Description))]
    if Id is not None:
        wanted = {i.upper() for i in names_of(Id)}
        items = [i for i in items if i["HotFixID"] in wanted]
        if not items:
            raise fail(f"Cannot find the requested hotfix on the '{host.name}' computer. Verify the input and "
                       f"run the command again.", "ObjectNotFound", "GetHotFixNoEntriesFound", HOTFIX,
                       "System.ArgumentException")
    return items
