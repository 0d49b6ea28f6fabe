"""Bare-metal staging on the deployment server (WDS, module WDS): prestaged devices + answer files.

The answer file holds secrets (administrator and domain-join passwords): it is written to the
server for the deployment and removed when the deployment is unstaged; it is never logged.
"""
import re
from dataclasses import dataclass

from fabric.agents.connection import Connection
from fabric.agents.parsing import Reader
from fabric.agents.quoting import UnsafeArgument, ps_bool, ps_choice, ps_str
from fabric.agents.runner import run_script

PROMPT_POLICIES = ("NoPrompt", "OptIn", "OptOut", "Abort")
_MAC = re.compile(r"^[0-9A-Fa-f]{2}([-:]?)[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}$")
_NETBIOS = re.compile(r"^(?!-)[A-Za-z0-9-]{1,15}(?<!-)$")


@dataclass(frozen=True)
class StagedDevice:
    device_id: str
    device_name: str
    unattend: str
    boot_image: str


@dataclass(frozen=True)
class InstallImage:
    """An install image in the server's image store (a WIM or a VHD/VHDX)."""

    name: str
    group: str
    file_name: str
    version: str        # "10.0.20348"
    product: str        # "Microsoft Windows Server 2022 Datacenter"

    @property
    def build(self) -> int | None:
        parts = self.version.split(".")
        return int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else None


@dataclass(frozen=True)
class DeploymentServerInfo:
    computer_name: str
    staged: list[StagedDevice]
    images: list[InstallImage]


def windows_mac(mac: str) -> str:
    """Any usual MAC spelling → Windows' 00-15-5D-01-02-03; anything else refused."""
    if not _MAC.match(str(mac).strip()):
        raise UnsafeArgument(f"{mac!r} is not a MAC address (six hex pairs, e.g. 00-15-5D-01-02-03).")
    digits = re.sub(r"[-:]", "", str(mac).strip()).upper()
    return "-".join(digits[i:i + 2] for i in range(0, 12, 2))


def answer_file_name(mac: str) -> str:
    """Where the answer file goes, relative to RemoteInstall (named after the MAC, never a user string)."""
    return "WdsClientUnattend\\ferry-" + windows_mac(mac).replace("-", "").lower() + ".xml"


_CLIENT = ("Select-Object -Property @{Name='DeviceID';Expression={[string]$_.DeviceID}}, "
           "@{Name='DeviceName';Expression={[string]$_.DeviceName}}, "
           "@{Name='WdsClientUnattend';Expression={[string]$_.WdsClientUnattend}}, "
           "@{Name='BootImagePath';Expression={[string]$_.BootImagePath}}")


def _device(r: Reader, rec: dict) -> StagedDevice:
    return StagedDevice(
        device_id=r.get(rec, "DeviceID"),
        device_name=r.get(rec, "DeviceName", required=False, default=""),
        unattend=r.get(rec, "WdsClientUnattend", required=False, default=""),
        boot_image=r.get(rec, "BootImagePath", required=False, default=""),
    )


_IMAGE = ("Select-Object -Property ImageName, ImageGroup, FileName, "
          "@{Name='Version';Expression={[string]$_.Version}}, "
          "@{Name='ProductName';Expression={[string]$_.ProductName}}")


def _image(r: Reader, rec: dict) -> InstallImage:
    return InstallImage(
        name=r.get(rec, "ImageName"),
        group=r.get(rec, "ImageGroup", required=False, default=""),
        file_name=r.get(rec, "FileName", required=False, default=""),
        version=r.get(rec, "Version", required=False, default=""),
        product=r.get(rec, "ProductName", required=False, default=""),
    )


def get_deployment_server(conn: Connection) -> DeploymentServerInfo:
    """The server's computer name, what is staged on it (proves WDS answers) and its install images."""
    body = ("$name = [string](Get-CimInstance -ClassName Win32_OperatingSystem).CSName\n"
            f"$clients = @(Get-WdsClient | {_CLIENT})\n"
            f"$images = @(Get-WdsInstallImage | {_IMAGE})\n"
            "$result = @{ ComputerName = $name; Clients = $clients; Images = $images }")
    op = "Get-WdsClient"
    value = run_script(conn, body, operation=op)
    r = Reader(op, conn.where)
    rec = r.record(value)
    return DeploymentServerInfo(
        computer_name=r.get(rec, "ComputerName"),
        staged=[_device(r, c) for c in r.records(rec.get("Clients"))],
        images=[_image(r, i) for i in r.records(rec.get("Images"))],
    )


def get_staged_devices(conn: Connection) -> list[StagedDevice]:
    return get_deployment_server(conn).staged


def stage_deployment(conn: Connection, *, mac: str, device_name: str, answer_file: str, remote_install: str,
                     boot_image: str | None = None, prompt_policy: str = "NoPrompt",
                     join_domain: bool = False, domain: str | None = None, ou: str | None = None) -> StagedDevice:
    """Prestage `mac` to deploy as `device_name` with `answer_file` (unattend.xml text).

    Replaces an earlier staging of the same MAC or name, so a retried step converges.
    """
    if not _NETBIOS.match(device_name or ""):
        raise UnsafeArgument(f"{device_name!r} is not a computer name (1-15 letters, digits or hyphens).")
    device = ps_str(windows_mac(mac))
    name = ps_str(device_name, what="computer name")
    relative = answer_file_name(mac)
    path = ps_str(remote_install.rstrip("\\") + "\\" + relative, what="answer file path")
    options = f" -PxePromptPolicy {ps_choice(prompt_policy, PROMPT_POLICIES, what='PXE prompt policy')}"
    if boot_image:
        options += f" -BootImagePath {ps_str(boot_image, what='boot image path')}"
    if join_domain:
        options += f" -JoinDomain {ps_bool(True)}"
        if domain:
            options += f" -Domain {ps_str(domain, what='domain')}"
        if ou:
            options += f" -OU {ps_str(ou, what='OU')}"
    body = (
        f"$xml = {ps_str(answer_file, multiline=True, what='answer file')}\n"
        f"if (@(Get-WdsClient -DeviceName {name} -ErrorAction SilentlyContinue).Count -gt 0) "
        f"{{ Remove-WdsClient -DeviceName {name} }}\n"
        f"if (@(Get-WdsClient -DeviceID {device} -ErrorAction SilentlyContinue).Count -gt 0) "
        f"{{ Remove-WdsClient -DeviceID {device} }}\n"
        f"Set-Content -Path {path} -Value $xml -Encoding UTF8\n"
        f"$null = New-WdsClient -DeviceID {device} -DeviceName {name} -WdsClientUnattend {ps_str(relative)}{options}\n"
        f"$result = Get-WdsClient -DeviceID {device} | {_CLIENT}"
    )
    op = f"New-WdsClient {device_name}"
    # joining the domain writes the computer account on a domain controller: a second hop
    value = run_script(conn, body, operation=op, idempotent=True, second_hop=join_domain)
    r = Reader(op, conn.where)
    return _device(r, r.record(value))


def unstage_deployment(conn: Connection, *, mac: str, remote_install: str) -> bool:
    """Remove the staging of `mac` and its answer file; False when nothing was staged."""
    device = ps_str(windows_mac(mac))
    path = ps_str(remote_install.rstrip("\\") + "\\" + answer_file_name(mac), what="answer file path")
    body = (
        f"$staged = @(Get-WdsClient -DeviceID {device} -ErrorAction SilentlyContinue)\n"
        f"if ($staged.Count -gt 0) {{ Remove-WdsClient -DeviceID {device} }}\n"
        f"if (Test-Path -Path {path}) {{ Remove-Item -Path {path} -Force }}\n"
        "$result = @{ Removed = $staged.Count -gt 0 }"
    )
    op = "Remove-WdsClient"
    value = run_script(conn, body, operation=op, idempotent=True)
    r = Reader(op, conn.where)
    return r.get(r.record(value), "Removed", bool)


__all__ = [
    "DeploymentServerInfo", "InstallImage", "StagedDevice", "answer_file_name", "get_deployment_server",
    "get_staged_devices",
    "stage_deployment", "unstage_deployment", "windows_mac",
]
