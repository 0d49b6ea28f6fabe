"""The update server (WSUS, module UpdateServices), reached over WinRM on the server itself.

Property names are those of the UpdateServices API: the server is an IUpdateServer (whether the API
connection is secure is IsConnectionSecureForApiRemoting), each update of Get-WsusUpdate carries an
IUpdate in .Update. Superseding updates are asked of IUpdate.GetRelatedUpdates, which gives update
objects (their ids), not the WsusUpdate's UpdatesSupersedingThisUpdate (titles, or the text "None").
"""
from dataclasses import dataclass, field
from datetime import datetime

from fabric.agents.connection import Connection
from fabric.agents.parsing import Reader
from fabric.agents.quoting import ps_array, ps_choice, ps_int, ps_str
from fabric.agents.runner import run_script

APPROVALS = ("Approved", "Unapproved", "AnyExceptDeclined", "Declined")
CLASSIFICATIONS = ("All", "Critical", "Security", "WSUS")
STATUSES = ("Any", "Needed", "FailedOrNeeded", "InstalledOrNotApplicableOrNoStatus", "Failed",
            "InstalledOrNotApplicable", "NoStatus")


@dataclass(frozen=True)
class WsusServerInfo:
    name: str
    port: int
    use_ssl: bool  # IsConnectionSecureForApiRemoting: the API connection Ferry made is over SSL
    version: str


@dataclass(frozen=True)
class CatalogUpdate:
    update_id: str
    revision: int
    title: str
    kbs: list[str]  # digits only
    classification: str  # "Security Updates", "Critical Updates", ...
    msrc_severity: str
    created: datetime | None
    arrived: datetime | None
    is_superseded: bool
    is_approved: bool
    is_declined: bool
    reboot_behavior: str  # NeverReboots, AlwaysRequiresReboot, CanRequestReboot
    superseded_by: list[str] = field(default_factory=list)  # ids of the updates that supersede it
    computers_needing: int = 0

    @property
    def kb(self) -> str:
        return self.kbs[0] if self.kbs else ""


def _server(port: int, use_ssl: bool, name: str | None) -> str:
    """Bind $wsus to the server: by name, or the machine's own name (Get-WsusServer needs one with a port)."""
    who = (
        ps_str(name, what="update server name") if name
        else "(Get-CimInstance -ClassName Win32_OperatingSystem).CSName"
    )
    ssl = " -UseSsl" if use_ssl else ""
    return f"$wsus = Get-WsusServer -Name {who} -PortNumber {ps_int(port, what='WSUS port')}{ssl}"


def get_wsus_server(conn: Connection, *, port: int = 8530, use_ssl: bool = False,
                    name: str | None = None) -> WsusServerInfo:
    body = (f"{_server(port, use_ssl, name)}\n"
            "$result = $wsus | Select-Object -Property @{Name='Name';Expression={[string]$_.Name}}, "
            "@{Name='PortNumber';Expression={[int]$_.PortNumber}}, "
            "@{Name='IsConnectionSecureForApiRemoting';Expression={[bool]$_.IsConnectionSecureForApiRemoting}}, "
            "@{Name='Version';Expression={[string]$_.Version}}")
    op = "Get-WsusServer"
    value = run_script(conn, body, operation=op)
    r = Reader(op, conn.where)
    rec = r.record(value)
    return WsusServerInfo(
        name=r.get(rec, "Name"),
        port=r.get(rec, "PortNumber", int, required=False, default=port),
        use_ssl=r.get(rec, "IsConnectionSecureForApiRemoting", bool, required=False, default=use_ssl),
        version=r.get(rec, "Version", required=False, default=""),
    )


_CATALOG = ("""Select-Object -Property @{Name='UpdateId';Expression={[string]$_.Update.Id.UpdateId}},
    @{Name='RevisionNumber';Expression={[int]$_.Update.Id.RevisionNumber}},
    @{Name='Title';Expression={[string]$_.Update.Title}},
    @{Name='KnowledgebaseArticles';Expression={@($_.Update.KnowledgebaseArticles | ForEach-Object { [string]$_ })}},
    @{Name='Classification';Expression={[string]$_.Update.UpdateClassificationTitle}},
    @{Name='MsrcSeverity';Expression={[string]$_.Update.MsrcSeverity}},
    @{Name='CreationDate';Expression={if ($_.Update.CreationDate) { """
            """$_.Update.CreationDate.ToUniversalTime().ToString('o') } else { $null }}},
    @{Name='ArrivalDate';Expression={if ($_.Update.ArrivalDate) { """
            """$_.Update.ArrivalDate.ToUniversalTime().ToString('o') } else { $null }}},
    @{Name='IsSuperseded';Expression={[bool]$_.Update.IsSuperseded}},
    @{Name='IsApproved';Expression={[bool]$_.Update.IsApproved}},
    @{Name='IsDeclined';Expression={[bool]$_.Update.IsDeclined}},
    @{Name='RebootBehavior';Expression={[string]$_.Update.InstallationBehavior.RebootBehavior}},
    @{Name='SupersededBy';Expression={@($_.Update.GetRelatedUpdates('UpdatesThatSupersedeThisUpdate') | """
            """ForEach-Object { [string]$_.Id.UpdateId })}},
    @{Name='ComputersNeeding';Expression={[int]$_.ComputersNeedingThisUpdate}}""")


def get_wsus_updates(conn: Connection, *, port: int = 8530, use_ssl: bool = False, name: str | None = None,
                     approval: str = "AnyExceptDeclined", classification: str = "All", status: str = "Any",
                     timeout: float = 600) -> list[CatalogUpdate]:
    """The update catalog as the WSUS server has it (Get-WsusUpdate)."""
    body = (
        f"{_server(port, use_ssl, name)}\n"
        f"$result = @(Get-WsusUpdate -UpdateServer $wsus -Classification {ps_choice(classification, CLASSIFICATIONS)} "
        f"-Approval {ps_choice(approval, APPROVALS)} -Status {ps_choice(status, STATUSES)} | {_CATALOG})"
    )
    op = "Get-WsusUpdate"
    value = run_script(conn, body, operation=op, timeout=timeout)
    r = Reader(op, conn.where)
    return [
        CatalogUpdate(
            update_id=r.get(rec, "UpdateId"),
            revision=r.get(rec, "RevisionNumber", int, required=False, default=0),
            title=r.get(rec, "Title", required=False, default=""),
            kbs=[k.upper().removeprefix("KB") for k in r.strings(rec, "KnowledgebaseArticles")],
            classification=r.get(rec, "Classification", required=False, default=""),
            # an MsrcSeverity enum: Unspecified for updates without a security bulletin
            msrc_severity=r.get(rec, "MsrcSeverity", required=False, default="").replace("Unspecified", ""),
            created=r.date(rec, "CreationDate"),
            arrived=r.date(rec, "ArrivalDate"),
            is_superseded=r.get(rec, "IsSuperseded", bool, required=False, default=False),
            is_approved=r.get(rec, "IsApproved", bool, required=False, default=False),
            is_declined=r.get(rec, "IsDeclined", bool, required=False, default=False),
            reboot_behavior=r.get(rec, "RebootBehavior", required=False, default=""),
            superseded_by=[i.lower() for i in r.strings(rec, "SupersededBy")],
            computers_needing=r.get(rec, "ComputersNeeding", int, required=False, default=0),
        )
        for rec in r.records(value)
    ]


def approve_updates(conn: Connection, update_ids: list[str], target_group: str, *, port: int = 8530,
                    use_ssl: bool = False, name: str | None = None) -> int:
    """Approve updates for installation by a WSUS computer group; returns how many were approved."""
    body = (
        f"{_server(port, use_ssl, name)}\n"
        f"$ids = {ps_array(update_ids, what='update id')}\n"
        f"$group = {ps_str(target_group, what='computer group')}\n"
        "$count = 0\n"
        "foreach ($id in $ids) {\n"
        "    $update = Get-WsusUpdate -UpdateServer $wsus -UpdateId $id\n"
        "    $update | Approve-WsusUpdate -Action Install -TargetGroupName $group\n"
        "    $count = $count + 1\n"
        "}\n"
        "$result = @{ Approved = $count }"
    )
    op = "Approve-WsusUpdate"
    value = run_script(conn, body, operation=op)
    r = Reader(op, conn.where)
    return r.get(r.record(value), "Approved", int)


__all__ = ["CatalogUpdate", "WsusServerInfo", "approve_updates", "get_wsus_server", "get_wsus_updates"]
