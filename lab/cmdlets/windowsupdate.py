"""Windows Update through CIM (root/Microsoft/Windows/WindowsUpdate) and the WindowsUpdateProvider module.

Server 2019+ (build 17763 on): the static class MSFT_WUOperations (ScanForUpdates, InstallUpdates:
ReturnValue is the result code, InstallUpdates also gives RebootRequired) and MSFT_WUSettings
(IsPendingReboot). Installing the updates found by a scan in the same script:

    $criteria = "IsInstalled=0 and Type='Software' and IsHidden=0"
    $u = (Invoke-CimMethod -Namespace root/Microsoft/Windows/WindowsUpdate -ClassName MSFT_WUOperations `
          -MethodName ScanForUpdates -Arguments @{SearchCriteria=$criteria}).Updates |
         Where-Object { $_.UpdateID -in @('id1','id2') }
    Invoke-CimMethod -Namespace root/Microsoft/Windows/WindowsUpdate -ClassName MSFT_WUOperations `
        -MethodName InstallUpdates -Arguments @{Updates=[ciminstance[]]$u}

Server 2016 (build 14393): neither of those classes; an MSFT_WUOperationsSession instance made with
New-CimInstance, whose ScanForUpdates (SearchCriteria, OnlineScan → Updates, HResult),
DownloadUpdates and InstallUpdates (Updates → HResult) report a failure in HResult while ReturnValue
stays 0, and which says nothing about a restart: that is the pending-reboot check's job. The session
class is refused from 17763 on (newer scripts fall back to MSFT_WUOperations when creating it fails;
unconfirmed from Microsoft's documentation, so the lab is the stricter of the two possibilities).
"""
from __future__ import annotations

from lab.cmdlets.common import as_list, cim_instance, cmdlet, fail
from lab.cmdlets.system import CIM, CIM_EXCEPTION, CIMV2, WU_NAMESPACE, _namespace, _target_host

INVOKE = "InvokeCimMethodCommand"
NEW = "NewCimInstanceCommand"
WU_NS_DISPLAY = "ROOT/Microsoft/Windows/WindowsUpdate"


def update_object(host_name: str, update) -> dict:
    return cim_instance(WU_NS_DISPLAY, "MSFT_WUUpdate", host_name, {
        "Title": update.title, "Description": update.description or update.title,
        "KBArticleID": update.kb, "UpdateID": update.id, "RevisionNumber": update.revision,
        "MsrcSeverity": update.severity if update.classification == "Security Updates" else "",
    })


def _error(message, hresult, category, command=INVOKE):
    return fail(message, category, f"HRESULT 0x{hresult:x}", CIM + command, CIM_EXCEPTION)


def _update_refs(value) -> list[str]:
    refs = []
    for item in as_list(value):
        if isinstance(item, dict):
            ref = item.get("UpdateID") or item.get("UpdateId") or item.get("KBArticleID")
            if ref is None and isinstance(item.get("Id"), dict):
                ref = item["Id"].get("UpdateId")
            if ref is not None:
                refs.append(str(ref))
        elif item is not None:
            refs.append(str(item))
    return refs


def _require_update_instances(arguments: dict) -> None:
    """The Updates argument of the CIM methods is MSFT_WUUpdate[]: the objects a scan returned, not
    ids or KB numbers (unconfirmed which error Windows gives for those; the lab refuses them)."""
    if "updates" not in arguments:
        raise _error("Invalid method Parameter(s) ", 0x8004102F, "InvalidArgument")
    for item in as_list(arguments["updates"]):
        if not (isinstance(item, dict) and str(item.get("CimClass", "")).endswith(":MSFT_WUUpdate")):
            raise _error("Invalid method Parameter(s) ", 0x8004102F, "InvalidArgument")


def _arguments(value) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _error("Invalid method Parameter(s) ", 0x8004102F, "InvalidArgument")
    return {str(k).lower(): v for k, v in value.items()}


def scan(ctx, host, arguments):
    criteria = arguments.get("searchcriteria")
    if criteria is None:
        raise _error("Invalid method Parameter(s) ", 0x8004102F, "InvalidArgument")
    hresult, updates = ctx.dc.scan(host.key, str(criteria))
    return hresult, [update_object(host.name, u) for u in updates]


def install(ctx, host, arguments):
    if "updates" not in arguments:
        raise _error("Invalid method Parameter(s) ", 0x8004102F, "InvalidArgument")
    if str(arguments.get("downloadonly", False)).lower() in ("true", "1"):
        return ctx.dc.download(host.key, _update_refs(arguments["updates"])), False
    hresult, reboot, _ = ctx.dc.install(host.key, _update_refs(arguments["updates"]))
    return hresult, reboot


def _signed(hresult: int) -> int:
    """HResult as the session class gives it: a signed 32-bit number (0x80070643 is -2147023293)."""
    return hresult - (1 << 32) if hresult & 0x80000000 else hresult


def session_method(ctx, host, method, arguments):
    """MSFT_WUOperationsSession (Server 2016): the result is in HResult, ReturnValue stays 0."""
    if method == "scanforupdates":
        hresult, updates = scan(ctx, host, arguments)
        return {"HResult": _signed(hresult), "Updates": updates, "ReturnValue": 0, "PSComputerName": None}
    if method == "downloadupdates":
        _require_update_instances(arguments)
        hresult = ctx.dc.download(host.key, _update_refs(arguments["updates"]))
        return {"HResult": _signed(hresult), "ReturnValue": 0, "PSComputerName": None}
    if method == "installupdates":
        _require_update_instances(arguments)
        hresult, _ = install(ctx, host, arguments)
        return {"HResult": _signed(hresult), "ReturnValue": 0, "PSComputerName": None}
    raise _error("Method not found ", 0x80041055, "MetadataError")


@cmdlet("CimCmdlets", "Invoke-CimMethod", {"ClassName": "value", "Namespace": "value", "MethodName": "value",
                                           "Arguments": "value", "InputObject": "value", "ComputerName": "value",
                                           "Query": "value"},
        positional=("ClassName", "MethodName", "Arguments"), pipeline="InputObject", command_type=CIM + INVOKE)
def invoke_cim_method(ctx, ClassName=None, Namespace=None, MethodName=None, Arguments=None, InputObject=None,
                      ComputerName=None, Query=None):
    host = _target_host(ctx, ComputerName, CIM + INVOKE)
    arguments = _arguments(Arguments)
    method = str(MethodName or "").lower()
    if InputObject is not None:
        session = InputObject[0] if isinstance(InputObject, list) and InputObject else InputObject
        if not (isinstance(session, dict) and str(session.get("CimClass", "")).endswith("MSFT_WUOperationsSession")):
            raise _error("Invalid class ", 0x80041010, "MetadataError")
        return session_method(ctx, host, method, arguments)
    namespace = _namespace(Namespace)
    class_name = str(ClassName or "").lower()
    if namespace == WU_NAMESPACE:
        modern = host.os.build >= 17763
        if class_name == "msft_wuoperations" and modern:
            if method == "scanforupdates":
                hresult, updates = scan(ctx, host, arguments)
                return {"ReturnValue": hresult, "Updates": updates, "PSComputerName": None}
            if method == "installupdates":
                _require_update_instances(arguments)
                hresult, reboot = install(ctx, host, arguments)
                return {"RebootRequired": reboot, "ReturnValue": hresult, "PSComputerName": None}
            raise _error("Method not found ", 0x80041055, "MetadataError")
        if class_name == "msft_wusettings" and modern:
            if method == "ispendingreboot":
                with ctx.dc.lock:
                    return {"PendingReboot": host.pending_reboot, "ReturnValue": 0, "PSComputerName": None}
            raise _error("Method not found ", 0x80041055, "MetadataError")
        raise _error("Invalid class ", 0x80041010, "MetadataError")
    if namespace == CIMV2:
        raise _error("Invalid class ", 0x80041010, "MetadataError")
    raise _error("Invalid namespace ", 0x8004100E, "MetadataError")


@cmdlet("CimCmdlets", "New-CimInstance", {"ClassName": "value", "Namespace": "value", "Property": "value",
                                          "ClientOnly": "switch", "ComputerName": "value"},
        positional=("ClassName", "Property"), command_type=CIM + NEW)
def new_cim_instance(ctx, ClassName=None, Namespace=None, Property=None, ClientOnly=False, ComputerName=None):
    host = _target_host(ctx, ComputerName, CIM + NEW)
    if _namespace(Namespace) == WU_NAMESPACE and str(ClassName or "").lower() == "msft_wuoperationssession":
        if host.os.build >= 17763:
            raise _error("Invalid class ", 0x80041010, "MetadataError", NEW)
        return cim_instance(WU_NS_DISPLAY, "MSFT_WUOperationsSession", host.name, {})
    raise _error("Not supported ", 0x8004100C, "NotImplemented", NEW)


@cmdlet("WindowsUpdateProvider", "Get-WUIsPendingReboot", {}, command_type="Get-WUIsPendingReboot")
def get_wu_is_pending_reboot(ctx):
    with ctx.dc.lock:
        return ctx.host.pending_reboot


@cmdlet("WindowsUpdateProvider", "Start-WUScan", {"SearchCriteria": "value"}, command_type="Start-WUScan")
def start_wu_scan(ctx, SearchCriteria="IsInstalled=0 AND IsHidden=0 AND IsAssigned=1"):
    hresult, updates = scan(ctx, ctx.host, {"searchcriteria": SearchCriteria})
    if hresult:
        raise fail(f"Scan failed with HRESULT 0x{hresult:08X}", "InvalidOperation", "ScanFailed", "Start-WUScan")
    return updates


@cmdlet("WindowsUpdateProvider", "Install-WUUpdates", {"Updates": "value", "DownloadOnly": "switch"},
        positional=("Updates",), pipeline="Updates", command_type="Install-WUUpdates")
def install_wu_updates(ctx, Updates=None, DownloadOnly=False):
    hresult, reboot = install(ctx, ctx.host, {"updates": Updates, "downloadonly": DownloadOnly})
    if hresult:
        raise fail(f"Installation failed with HRESULT 0x{hresult:08X}", "InvalidOperation", "InstallFailed",
                   "Install-WUUpdates")
    return None
