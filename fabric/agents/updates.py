"""Windows Update on a host through the CIM provider (root/Microsoft/Windows/WindowsUpdate).

Server 2019 and later (build 17763 on): the static class MSFT_WUOperations, whose ReturnValue is the
result code. Server 2016 (build 14393): an MSFT_WUOperationsSession instance (New-CimInstance) with
ScanForUpdates, DownloadUpdates and InstallUpdates, which leave ReturnValue at 0 and give the result
in HResult, and say nothing about a restart. The script reads the build on the host itself in the
same round trip (a record kept by Ferry is stale after an in-place upgrade), judges every stage by its
result code, and after an install asks the pending-reboot check whether the host must restart.
"""
import re
from dataclasses import dataclass

from fabric.agents.connection import Connection
from fabric.agents.errors import CmdletError
from fabric.agents.hostinfo import PENDING_REBOOT, is_pending_reboot
from fabric.agents.parsing import Reader
from fabric.agents.quoting import UnsafeArgument, ps_array, ps_str
from fabric.agents.runner import run_script

DEFAULT_CRITERIA = "IsInstalled=0 and Type='Software' and IsHidden=0"
NAMESPACE = "'root/Microsoft/Windows/WindowsUpdate'"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_KB = re.compile(r"^(?:KB)?(\d{4,8})$", re.IGNORECASE)

HRESULTS = {
    0x80240022: "WU_E_ALL_UPDATES_FAILED: every update failed to install",
    0x80240024: "WU_E_NO_UPDATE: none of the requested updates is applicable",
    0x80240032: "WU_E_INVALID_CRITERIA: the search criteria are invalid",
    0x8024000B: "WU_E_CALL_CANCELLED: the operation was cancelled (the host restarted or shut down?)",
    0x8024402C: "WU_E_PT_WINHTTP_NAME_NOT_RESOLVED: the update server name cannot be resolved",
    0x80244022: "WU_E_PT_HTTP_STATUS_SERVICE_UNAVAIL: the update server is unavailable (HTTP 503)",
    0x80070005: "E_ACCESSDENIED: access is denied",
    0x80070643: "ERROR_INSTALL_FAILURE: the installer reported a fatal error",
    0x800F0922: "CBS_E_INSTALLERS_FAILED: servicing could not complete (disk space, reserved partition?)",
}


STAGES = {"scan": "The Windows Update scan before the install", "download": "Downloading updates",
          "install": "Installing updates"}


@dataclass(frozen=True)
class AvailableUpdate:
    update_id: str
    revision: int
    title: str
    kb: str  # digits only
    msrc_severity: str  # empty for non-security updates


@dataclass(frozen=True)
class InstallResult:
    hresult: int
    reboot_required: bool
    installed: list[str]  # update ids


class UpdateInstallFailed(CmdletError):
    """Windows Update reported a failure code for an install (or scan) on the host."""

    def __init__(self, message: str, *, hresult: int, installed: list[str] | None = None, **kwargs):
        self.hresult = hresult
        self.installed = installed or []
        super().__init__(message, category="InvalidResult", fqid=f"0x{hresult:08X}", **kwargs)


def describe_hresult(code: int) -> str:
    code &= 0xFFFFFFFF
    return f"0x{code:08X}" + (f" ({HRESULTS[code]})" if code in HRESULTS else "")


# The result code of a CIM call: MSFT_WUOperations gives it in ReturnValue; the 2016 session class
# leaves ReturnValue at 0 and gives it in HResult.
_RESULT_CODE = """function Get-WUResultCode($answer) {
    $code = [int64]$answer.ReturnValue
    if ($code -eq 0 -and $answer.HResult) { $code = [int64]$answer.HResult }
    $code
}"""

_SCAN = """$os = Get-CimInstance -ClassName Win32_OperatingSystem
$modern = [int]$os.BuildNumber -ge 17763
if ($modern) {
    $scan = Invoke-CimMethod -Namespace NS -ClassName 'MSFT_WUOperations' -MethodName 'ScanForUpdates' -Arguments @{ SearchCriteria = $criteria }
} else {
    $session = New-CimInstance -Namespace NS -ClassName 'MSFT_WUOperationsSession'
    $scan = Invoke-CimMethod -InputObject $session -MethodName 'ScanForUpdates' -Arguments @{ SearchCriteria = $criteria; OnlineScan = $true }
}
$code = Get-WUResultCode $scan
$found = @()
if ($scan.Updates) { $found = @($scan.Updates) }""".replace("NS", NAMESPACE)

_UPDATE = ("Select-Object -Property @{Name='UpdateID';Expression={[string]$_.UpdateID}}, "
           "@{Name='RevisionNumber';Expression={[int]$_.RevisionNumber}}, "
           "@{Name='Title';Expression={[string]$_.Title}}, @{Name='KBArticleID';Expression={[string]$_.KBArticleID}}, "
           "@{Name='MsrcSeverity';Expression={[string]$_.MsrcSeverity}}")

# Sets $stage (where it stopped), $installCode and $rebootSaid (what MSFT_WUOperations said; the 2016
# class has no such output). Whether a restart is needed is decided afterwards by PENDING_REBOOT.
_INSTALL = """$rebootSaid = $false
if ($modern) {
    $stage = 'install'
    $install = Invoke-CimMethod -Namespace NS -ClassName 'MSFT_WUOperations' -MethodName 'InstallUpdates' -Arguments @{ Updates = [ciminstance[]]$wanted; DownloadOnly = $false }
    $installCode = Get-WUResultCode $install
    $rebootSaid = [bool]$install.RebootRequired
} else {
    $stage = 'download'
    $download = Invoke-CimMethod -InputObject $session -MethodName 'DownloadUpdates' -Arguments @{ Updates = [ciminstance[]]$wanted }
    $installCode = Get-WUResultCode $download
    if (-not ($installCode -band 0x80000000)) {
        $stage = 'install'
        $install = Invoke-CimMethod -InputObject $session -MethodName 'InstallUpdates' -Arguments @{ Updates = [ciminstance[]]$wanted }
        $installCode = Get-WUResultCode $install
    }
}""".replace("NS", NAMESPACE)


def failed(code: int) -> bool:
    """An HRESULT reports a failure when its severity bit is set; 0x0024xxxx codes are successes."""
    return bool(code & 0x80000000)


def _read_update(r: Reader, rec: dict) -> AvailableUpdate:
    kb = r.get(rec, "KBArticleID", required=False, default="")
    return AvailableUpdate(
        update_id=r.get(rec, "UpdateID"),
        revision=r.get(rec, "RevisionNumber", int, required=False, default=0),
        title=r.get(rec, "Title", required=False, default=""),
        kb=kb.upper().removeprefix("KB"),
        msrc_severity=r.get(rec, "MsrcSeverity", required=False, default=""),
    )


def scan_updates(conn: Connection, *, criteria: str = DEFAULT_CRITERIA, timeout: float = 1800) -> list[AvailableUpdate]:
    """What the host's Windows Update agent offers (by default: missing software updates)."""
    body = (f"{_RESULT_CODE}\n$criteria = {ps_str(criteria, what='search criteria')}\n{_SCAN}\n"
            f"$updates = @($found | {_UPDATE})\n"
            "$result = @{ HResult = $code; Updates = $updates }")
    op = "Windows Update scan"
    value = run_script(conn, body, operation=op, timeout=timeout)
    r = Reader(op, conn.where)
    rec = r.record(value)
    code = r.get(rec, "HResult", int) & 0xFFFFFFFF
    if failed(code):
        raise UpdateInstallFailed(f"The Windows Update scan on {conn.where} failed: {describe_hresult(code)}.",
                                  hresult=code, target=conn.where, operation=op)
    return [_read_update(r, u) for u in r.records(rec.get("Updates"))]


def _wanted(updates: list[str]) -> str:
    """Script lines: a scan, then $wanted = the found updates among `updates` (ids or KB numbers)."""
    ids, kbs = [], []
    for ref in updates:
        ref = str(ref).strip()
        if _GUID.match(ref):
            ids.append(ref.lower())
        elif _KB.match(ref):
            kbs.append(_KB.match(ref).group(1))
        else:
            raise UnsafeArgument(f"{ref!r} is neither an update id (GUID) nor a KB number.")
    return (
        f"{_RESULT_CODE}\n$ids = {ps_array(ids)}\n$kbs = {ps_array(kbs)}\n"
        f"$criteria = {ps_str(DEFAULT_CRITERIA)}\n{_SCAN}\n"
        "$wanted = @($found | Where-Object { ($ids -contains ([string]$_.UpdateID).ToLower()) -or "
        "($kbs -contains (([string]$_.KBArticleID) -replace '^KB', '')) })"
    )


_DOWNLOAD = """if ($modern) {
    $download = Invoke-CimMethod -Namespace NS -ClassName 'MSFT_WUOperations' -MethodName 'InstallUpdates' -Arguments @{ Updates = [ciminstance[]]$wanted; DownloadOnly = $true }
} else {
    $download = Invoke-CimMethod -InputObject $session -MethodName 'DownloadUpdates' -Arguments @{ Updates = [ciminstance[]]$wanted }
}
$downloadCode = Get-WUResultCode $download""".replace("NS", NAMESPACE)


def download_updates(conn: Connection, updates: list[str], *, timeout: float = 7200) -> list[str]:
    """Scan and download (not install) the given updates that are still missing, while the host
    still runs its workloads; the install later finds them in the host's cache. Returns the ids
    downloaded (none when nothing is missing any more)."""
    body = (
        f"{_wanted(updates)}\n"
        "if (($code -band 0x80000000) -or $wanted.Count -eq 0) {\n"
        "    $result = @{ Stage = 'scan'; HResult = $code; Downloaded = @() }\n"
        "} else {\n"
        f"{_DOWNLOAD}\n"
        "    $result = @{ Stage = 'download'; HResult = $downloadCode; "
        "Downloaded = @($wanted | ForEach-Object { [string]$_.UpdateID }) }\n"
        "}"
    )
    op = "Windows Update download"
    value = run_script(conn, body, operation=op, timeout=timeout, idempotent=True)
    r = Reader(op, conn.where)
    rec = r.record(value)
    code = r.get(rec, "HResult", int) & 0xFFFFFFFF
    if failed(code):
        stage = STAGES.get(r.get(rec, "Stage", required=False, default="download"), "Downloading updates")
        raise UpdateInstallFailed(f"{stage} on {conn.where} failed: {describe_hresult(code)}.",
                                  hresult=code, target=conn.where, operation=op)
    return r.strings(rec, "Downloaded")


def install_updates(conn: Connection, updates: list[str], *, timeout: float = 7200) -> InstallResult:
    """Install the given updates (update ids or KB numbers) that are still missing on the host.

    Already installed ones are skipped (nothing to do is success). A failure code from Windows
    Update raises UpdateInstallFailed with the HRESULT and what did get installed.
    """
    body = (
        f"{_wanted(updates)}\n"
        "if (($code -band 0x80000000) -or $wanted.Count -eq 0) {\n"
        "    $result = @{ Stage = 'scan'; HResult = $code; RebootRequired = $false; Installed = @() }\n"
        "} else {\n"
        f"{_INSTALL}\n{PENDING_REBOOT}\n"
        "    $result = @{ Stage = $stage; HResult = $installCode; RebootRequired = ($rebootSaid -or $pending); "
        "Installed = @($wanted | ForEach-Object { [string]$_.UpdateID }) }\n"
        "}"
    )
    op = "Windows Update install"
    value = run_script(conn, body, operation=op, timeout=timeout, idempotent=True)
    r = Reader(op, conn.where)
    rec = r.record(value)
    result = InstallResult(
        hresult=r.get(rec, "HResult", int) & 0xFFFFFFFF,
        reboot_required=r.get(rec, "RebootRequired", bool, required=False, default=False),
        installed=r.strings(rec, "Installed"),
    )
    if failed(result.hresult):
        stage = STAGES.get(r.get(rec, "Stage", required=False, default="install"), "Installing updates")
        raise UpdateInstallFailed(
            f"{stage} on {conn.where} failed: {describe_hresult(result.hresult)}. "
            f"Look at the host's Windows Update log (Get-WindowsUpdateLog) for the failing update.",
            # Windows Update reports one code for the whole call, not which update failed: after a
            # failure nothing is known installed until the host is scanned again.
            hresult=result.hresult, installed=[], target=conn.where, operation=op,
        )
    return result


_HOTFIXES = "$fixes = @(Get-HotFix | ForEach-Object { [string]$_.HotFixID })"


@dataclass(frozen=True)
class InstalledUpdates:
    kbs: set[str]  # digits only, from Get-HotFix (Win32_QuickFixEngineering)
    pending_reboot: bool


@dataclass(frozen=True)
class ComplianceScan:
    missing: list[AvailableUpdate]  # what Windows Update offers (applicable, not installed)
    installed_kbs: set[str]
    pending_reboot: bool


def _hotfix_kbs(r: Reader, rec: dict) -> set[str]:
    return {k.strip().upper().removeprefix("KB") for k in r.strings(rec, "HotFixes") if k.strip()}


def get_installed_updates(conn: Connection) -> InstalledUpdates:
    """The KBs installed on the host and whether it waits for a restart, in one round trip."""
    body = (f"$os = Get-CimInstance -ClassName Win32_OperatingSystem\n{PENDING_REBOOT}\n{_HOTFIXES}\n"
            "$result = @{ HotFixes = $fixes; PendingReboot = $pending }")
    op = "installed updates (Get-HotFix)"
    value = run_script(conn, body, operation=op)
    r = Reader(op, conn.where)
    rec = r.record(value)
    return InstalledUpdates(kbs=_hotfix_kbs(r, rec),
                            pending_reboot=r.get(rec, "PendingReboot", bool, required=False, default=False))


def scan_compliance(conn: Connection, *, criteria: str = DEFAULT_CRITERIA, timeout: float = 1800) -> ComplianceScan:
    """What is missing (a Windows Update scan), what is installed (Get-HotFix) and whether a restart
    is pending, in one round trip: scanning a thousand hosts is one script per host."""
    body = (f"{_RESULT_CODE}\n$criteria = {ps_str(criteria, what='search criteria')}\n{_SCAN}\n"
            f"$updates = @($found | {_UPDATE})\n{PENDING_REBOOT}\n{_HOTFIXES}\n"
            "$result = @{ HResult = $code; Updates = $updates; HotFixes = $fixes; PendingReboot = $pending }")
    op = "Windows Update scan"
    value = run_script(conn, body, operation=op, timeout=timeout)
    r = Reader(op, conn.where)
    rec = r.record(value)
    code = r.get(rec, "HResult", int) & 0xFFFFFFFF
    if failed(code):
        raise UpdateInstallFailed(f"The Windows Update scan on {conn.where} failed: {describe_hresult(code)}.",
                                  hresult=code, target=conn.where, operation=op)
    return ComplianceScan(
        missing=[_read_update(r, u) for u in r.records(rec.get("Updates"))],
        installed_kbs=_hotfix_kbs(r, rec),
        pending_reboot=r.get(rec, "PendingReboot", bool, required=False, default=False),
    )


pending_reboot = is_pending_reboot

__all__ = [
    "AvailableUpdate", "ComplianceScan", "InstallResult", "InstalledUpdates", "UpdateInstallFailed",
    "describe_hresult", "download_updates", "get_installed_updates", "install_updates", "pending_reboot",
    "scan_compliance", "scan_updates",
]
