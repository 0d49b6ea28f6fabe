"""The OS: Get-CimInstance (Win32_*), Restart-Computer, NetAdapter/NetTCPIP/DnsClient, Storage, Get-HotFix."""
from __future__ import annotations

import ipaddress
import re

from lab.cmdlets.common import cim_instance, cmdlet, dotnet, fail, names_of, ps_enum, truthy
from lab.datacenter.model import Host

CIM = "Microsoft.Management.Infrastructure.CimCmdlets."
CIM_EXCEPTION = "Microsoft.Management.Infrastructure.CimException"
CIMV2 = "root/cimv2"
WU_NAMESPACE = "root/microsoft/windows/windowsupdate"


def os_object(dc, host: Host) -> dict:
    used = host.memory_in_use() if host.role == "hyperv" else host.memory // 8
    return {
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


@cmdlet("CimCmdlets", "Get-CimInstance", {"ClassName": "value", "Namespace": "value", "Filter": "value",
                                          "Property": "value", "ComputerName": "value", "Query": "value",
                                          "KeyOnly": "switch"},
        positional=("ClassName",), command_type=CIM + GET_CIM)
def get_cim_instance(ctx, ClassName=None, Namespace=None, Filter=None, Property=None, ComputerName=None,
                     Query=None, KeyOnly=False):
    if Query is not None:
        match = re.match(r"^\s*select\s+.+?\s+from\s+(\w+)", str(Query), re.IGNORECASE)
        if not match:
            raise _cim_error("Invalid query ", 0x80041017, "InvalidArgument", GET_CIM)
        ClassName = match.group(1)
    if ClassName is None:
        raise fail("Cannot process command because of one or more missing mandatory parameters: ClassName.",
                   "InvalidArgument", "MissingMandatoryParameter", CIM + GET_CIM,
                   "System.Management.Automation.ParameterBindingException")
    namespace = _namespace(Namespace)
    host = _target_host(ctx, ComputerName, CIM + GET_CIM)
    with ctx.dc.lock:
        if namespace == CIMV2 and str(ClassName).lower() in CIMV2_CLASSES:
            class_name, build = CIMV2_CLASSES[str(ClassName).lower()]
            return cim_instance(CIMV2, class_name, host.name, build(ctx.dc, host))
        if namespace == CIMV2 and str(ClassName).lower() == "win32_quickfixengineering":
            return [cim_instance(CIMV2, "Win32_QuickFixEngineering", host.name, h) for h in hotfixes(ctx.dc, host)]
        if namespace == WU_NAMESPACE and str(ClassName).lower() in ("msft_wusettings", "msft_wuoperations"):
            raise _cim_error("Not supported ", 0x8004100C, "NotImplemented", GET_CIM)
        if namespace not in (CIMV2, WU_NAMESPACE, "root/microsoft/windows/storage", "root/standardcimv2"):
            raise _cim_error("Invalid namespace ", 0x8004100E, "MetadataError", GET_CIM)
        raise _cim_error("Invalid class ", 0x80041010, "MetadataError", GET_CIM)


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


def _nics(host: Host, alias=None, index=None):
    aliases = {a.lower() for a in names_of(alias)}
    indexes = {int(i) for i in names_of(index)} if index is not None else set()
    return [n for n in host.nics
            if (not aliases or n.name.lower() in aliases) and (not indexes or _if_index(host, n) in indexes)]


@cmdlet("NetAdapter", "Get-NetAdapter", {"Name": "value", "InterfaceIndex": "value", "Physical": "switch",
                                         "IncludeHidden": "switch"},
        positional=("Name",), command_type="Microsoft.Management.Infrastructure.CimCmdlets.GetNetAdapter")
def get_net_adapter(ctx, Name=None, InterfaceIndex=None, Physical=False, IncludeHidden=False):
    with ctx.dc.lock:
        host = ctx.host
        nics = _nics(host, Name, InterfaceIndex)
        if Name is not None and not nics:
            raise fail(f"No MSFT_NetAdapter objects found with property 'Name' equal to '{Name}'.  Verify the value "
                       f"of the property and retry.", "ObjectNotFound", "CmdletizationQuery_NotFound_Name",
                       "Get-NetAdapter", CIM_EXCEPTION)
        return [adapter_object(host, n) for n in nics]


def _ip(host, props):
    return cim_instance("ROOT/StandardCimv2", "MSFT_NetIPAddress", host.name, props)


def _family(value):
    if value is None:
        return None
    text = str(value).lower()
    return {"ipv4": 2, "2": 2, "ipv6": 23, "23": 23}.get(text)


@cmdlet("NetTCPIP", "Get-NetIPAddress", {"IPAddress": "value", "InterfaceAlias": "value", "InterfaceIndex": "value",
                                         "AddressFamily": "value", "PrefixOrigin": "value"},
        positional=("IPAddress",), command_type="Get-NetIPAddress")
def get_net_ip_address(ctx, IPAddress=None, InterfaceAlias=None, InterfaceIndex=None, AddressFamily=None,
                       PrefixOrigin=None):
    family = _family(AddressFamily)
    with ctx.dc.lock:
        host = ctx.host
        out = []
        for nic in _nics(host, InterfaceAlias, InterfaceIndex):
            index = _if_index(host, nic)
            if nic.ip and family in (None, 2):
                out.append(_ip(host, {"IPAddress": nic.ip, "InterfaceIndex": index, "InterfaceAlias": nic.name,
                            "AddressFamily": ps_enum(2, "IPv4"), "Type": ps_enum(1, "Unicast"),
                            "PrefixLength": nic.prefix_length, "PrefixOrigin": ps_enum(1, "Manual"),
                            "SuffixOrigin": ps_enum(1, "Manual"), "AddressState": ps_enum(4, "Preferred"),
                            "SkipAsSource": False, "PolicyStore": "ActiveStore"}))
            if family in (None, 23):
                mac = nic.mac.replace("-", "").lower()
                link_local = f"fe80::{mac[:4]}:{mac[4:8]}:{mac[8:]}%{index}"
                out.append(_ip(host, {"IPAddress": link_local, "InterfaceIndex": index,
                            "InterfaceAlias": nic.name, "AddressFamily": ps_enum(23, "IPv6"),
                            "Type": ps_enum(1, "Unicast"), "PrefixLength": 64,
                            "PrefixOrigin": ps_enum(2, "WellKnown"), "SuffixOrigin": ps_enum(4, "Link"),
                            "AddressState": ps_enum(4, "Preferred"), "SkipAsSource": False,
                            "PolicyStore": "ActiveStore"}))
        if IPAddress is not None:
            wanted = set(names_of(IPAddress))
            out = [o for o in out if o["IPAddress"] in wanted]
            if not out:
                raise fail(f"No matching MSFT_NetIPAddress objects found by CIM query for instances of the "
                           f"ROOT/StandardCimv2/MSFT_NetIPAddress class on the  CIM server: SELECT * FROM "
                           f"MSFT_NetIPAddress  WHERE ((IPAddress LIKE '{IPAddress}')). Verify query parameters "
                           f"and retry.", "ObjectNotFound", "CmdletizationQuery_NotFound", "Get-NetIPAddress",
                           CIM_EXCEPTION)
        return out


@cmdlet("DnsClient", "Get-DnsClientServerAddress", {"InterfaceAlias": "value", "InterfaceIndex": "value",
                                                    "AddressFamily": "value"},
        positional=("InterfaceAlias",), command_type="Get-DnsClientServerAddress")
def get_dns_client_server_address(ctx, InterfaceAlias=None, InterfaceIndex=None, AddressFamily=None):
    family = _family(AddressFamily)
    with ctx.dc.lock:
        host = ctx.host
        out = []
        for nic in _nics(host, InterfaceAlias, InterfaceIndex):
            if family in (None, 2):
                out.append(cim_instance("ROOT/StandardCimv2", "MSFT_DNSClientServerAddress", host.name, {
                    "InterfaceAlias": nic.name, "InterfaceIndex": _if_index(host, nic),
                    "AddressFamily": ps_enum(2, "IPv4"), "ServerAddresses": list(nic.dns)}))
            if family in (None, 23):
                out.append(cim_instance("ROOT/StandardCimv2", "MSFT_DNSClientServerAddress", host.name, {
                    "InterfaceAlias": nic.name, "InterfaceIndex": _if_index(host, nic),
                    "AddressFamily": ps_enum(23, "IPv6"), "ServerAddresses": []}))
        return out


@cmdlet("NetTCPIP", "Get-NetRoute", {"DestinationPrefix": "value", "InterfaceAlias": "value",
                                     "AddressFamily": "value"},
        positional=("DestinationPrefix",), command_type="Get-NetRoute")
def get_net_route(ctx, DestinationPrefix=None, InterfaceAlias=None, AddressFamily=None):
    family = _family(AddressFamily)
    with ctx.dc.lock:
        host = ctx.host
        out = []
        for nic in _nics(host, InterfaceAlias):
            if family not in (None, 2):
                continue
            index = _if_index(host, nic)
            routes = []
            if nic.gateway:
                routes.append(("0.0.0.0/0", nic.gateway, 0))
            if nic.ip:
                subnet = ipaddress.IPv4Interface(f"{nic.ip}/{nic.prefix_length}").network
                routes.append((str(subnet), "0.0.0.0", 256))
            for prefix, hop, metric in routes:
                out.append(cim_instance("ROOT/StandardCimv2", "MSFT_NetRoute", host.name, {
                    "DestinationPrefix": prefix, "NextHop": hop, "InterfaceAlias": nic.name, "InterfaceIndex": index,
                    "RouteMetric": metric, "AddressFamily": ps_enum(2, "IPv4"), "TypeOfRoute": ps_enum(3, "Manual"),
                    "Protocol": ps_enum(3, "NetMgmt")}))
        if DestinationPrefix is not None:
            wanted = set(names_of(DestinationPrefix))
            out = [o for o in out if o["DestinationPrefix"] in wanted]
        return out


@cmdlet("Storage", "Get-Disk", {"Number": "value", "FriendlyName": "value", "SerialNumber": "value"},
        positional=("Number",), command_type="Get-Disk")
def get_disk(ctx, Number=None, FriendlyName=None, SerialNumber=None):
    with ctx.dc.lock:
        host = ctx.host
        out = []
        for disk in host.disks:
            if Number is not None and str(disk.number) not in names_of(Number):
                continue
            wanted = {n.lower() for n in names_of(FriendlyName)}
            if FriendlyName is not None and disk.friendly_name.lower() not in wanted:
                continue
            if SerialNumber is not None and disk.serial_number not in names_of(SerialNumber):
                continue
            size = int(disk.size_gb * 2**30)
            out.append(cim_instance("ROOT/Microsoft/Windows/Storage", "MSFT_Disk", host.name, {
                        "Number": disk.number, "FriendlyName": disk.friendly_name, "SerialNumber": disk.serial_number,
                        "Model": disk.friendly_name, "Size": size, "AllocatedSize": size, "IsBoot": disk.is_boot,
                        "IsSystem": disk.is_system, "IsClustered": disk.is_clustered, "IsOffline": False,
                        "IsReadOnly": False, "BusType": disk.bus_type, "PartitionStyle": disk.partition_style,
                        "OperationalStatus": "Online", "HealthStatus": "Healthy", "NumberOfPartitions": 3,
                        "UniqueId": f"{host.serial_number}{disk.number:04d}",
                        "Location": f"PCIROOT(0)#PCI(0100)#SAS(P00T00L0{disk.number})"}))
        if Number is not None and not out:
            raise fail(f"No MSFT_Disk objects found with property 'Number' equal to '{Number}'.  Verify the value "
                       f"of the property and retry.", "ObjectNotFound", "CmdletizationQuery_NotFound_Number",
                       "Get-Disk", CIM_EXCEPTION)
        return out


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
                           "Caption": f"https://support.microsoft.com/help/{update.kb}"}))
    return out


@cmdlet("Microsoft.PowerShell.Management", "Get-HotFix", {"Id": "value", "ComputerName": "value",
                                                          "Description": "value"},
        positional=("Id",), command_type="Microsoft.PowerShell.Commands.GetHotFixCommand")
def get_hotfix(ctx, Id=None, ComputerName=None, Description=None):
    host = _target_host(ctx, ComputerName, "Microsoft.PowerShell.Commands.GetHotFixCommand")
    with ctx.dc.lock:
        items = hotfixes(ctx.dc, host)
        if Id is not None:
            wanted = {i.upper() for i in names_of(Id)}
            items = [i for i in items if i["HotFixID"] in wanted]
            if not items:
                raise fail(f"Cannot find the requested hotfix on the '{host.name}' computer. Verify the input and "
                           f"run the command again.", "ObjectNotFound", "GetHotFixNoEntriesFound",
                           "Microsoft.PowerShell.Commands.GetHotFixCommand", "System.ArgumentException")
        return items
