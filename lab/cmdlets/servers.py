"""The update server (UpdateServices: Get-WsusServer, Get-WsusUpdate, Approve-/Deny-WsusUpdate) and the
deployment server (WDS: New-/Get-/Remove-WdsClient, Get-WdsInstallImage, Get-WdsBootImage)."""
from __future__ import annotations

import datetime as dt

from lab.cmdlets.common import as_list, choice, cim_instance, cmdlet, dotnet, fail, truthy
from lab.datacenter.deployment import WDS_EXCEPTION, wds_device_guid
from lab.powershell.errors import runtime_error
from lab.powershell.values import PSObject

WSUS = "Microsoft.UpdateServices.Commands."
CLASSIFICATIONS = {"all": None, "critical": "Critical Updates", "security": "Security Updates",
                   "wsus": "WSUS Infrastructure Updates"}
WSUS_GROUPS = ("all computers", "unassigned computers")  # the groups every WSUS server has
PRODUCTS = {"2016": "Windows Server 2016", "2019": "Windows Server 2019", "2022": "Microsoft Server operating "
            "system-21H2", "2025": "Microsoft Server operating system-24H2"}


def _wsus_server(ctx, Name, PortNumber, UseSsl, command):
    dc = ctx.dc
    server_name = dc.topology.update_server
    if Name is not None and PortNumber is None:
        raise fail("Parameter set cannot be resolved using the specified named parameters.", "InvalidArgument",
                   "AmbiguousParameterSet", WSUS + command, "System.Management.Automation.ParameterBindingException")
    with dc.lock:
        server = dc.hosts[server_name] if server_name else None
        if Name is not None:
            wanted = str(Name).lower()
            target = dc.find_host(str(Name)) if wanted not in ("localhost", ".") else ctx.host
            if target is None or target is not server or not server.online:
                raise fail(f"The remote name could not be resolved: '{Name}'" if target is None else
                           "Unable to connect to the remote server", "ObjectNotFound", "ServerNotFound",
                           WSUS + command, "System.Net.WebException", target=str(Name))
            if int(PortNumber) != dc.topology.wsus_port or truthy(UseSsl):
                raise fail("Unable to connect to the remote server", "ConnectionError", "ServerNotFound",
                           WSUS + command, "System.Net.WebException", target=str(Name))
        elif server is None or ctx.host is not server:
            raise fail("The request failed with HTTP status 503: Service Unavailable.", "ObjectNotFound",
                       "ServerNotFound", WSUS + command, "System.Net.WebException")
        # IUpdateServer: a local connection is always secure; one by name is secure only over SSL.
        return dotnet("Microsoft.UpdateServices.Internal.BaseApi.UpdateServer",
                      "Microsoft.UpdateServices.Internal.BaseApi.UpdateServer", {
                "Name": server.name, "PortNumber": dc.topology.wsus_port,
                "IsConnectionSecureForApiRemoting": Name is None or truthy(UseSsl),
                "Version": f"{server.os.version}.5830", "ServerProtocolVersion": "1.20", "PreferredCulture": "en"})


@cmdlet("UpdateServices", "Get-WsusServer", {"Name": "value", "PortNumber": "value", "UseSsl": "switch"},
        positional=("Name",), command_type=WSUS + "GetWsusServerCommand")
def get_wsus_server(ctx, Name=None, PortNumber=None, UseSsl=False):
    return _wsus_server(ctx, Name, PortNumber, UseSsl, "GetWsusServerCommand")


RELATIONSHIPS = {"UpdatesThatBundleThisUpdate": 1, "UpdatesBundledByThisUpdate": 2,
                 "UpdatesThatRequireThisUpdate": 3, "UpdatesRequiredByThisUpdate": 4,
                 "UpdatesThatSupersedeThisUpdate": 5, "UpdatesSupersededByThisUpdate": 6,
                 "AllRevisionsOfThisUpdate": 7}


def _relationship(value) -> int:
    """An UpdateRelationship as PowerShell converts a method argument: by name or by number."""
    text = str(value).strip()
    for name, number in RELATIONSHIPS.items():
        if text.lower() == name.lower() or text == str(number):
            return number
    target = "Microsoft.UpdateServices.Administration.UpdateRelationship"
    raise runtime_error(f'Cannot convert argument "relationship", with value: "{value}", for "GetRelatedUpdates" '
                        f'to type "{target}": "Cannot convert value "{value}" to type "{target}". Error: '
                        f'"Unable to match the identifier name {value} to a valid enumerator name. Specify one of '
                        f'the following enumerator names and try again: {", ".join(RELATIONSHIPS)}""',
                        "MethodArgumentConversionInvalidCastArgument", "NotSpecified",
                        "System.Management.Automation.MethodException")


def superseding(dc, update) -> list:
    return [u for u in map(dc._update_ref, update.superseded_by) if u is not None]


def superseded(dc, update) -> list:
    return [u for u in dc.updates.values() if any(dc._update_ref(r) is update for r in u.superseded_by)]


def iupdate(dc, update) -> dict:
    """The IUpdate object (Microsoft.UpdateServices.Administration) of an update."""
    created = dt.datetime.combine(update.release_date, dt.time(17), dt.timezone.utc)
    reboot = "AlwaysRequiresReboot" if update.reboot_required else "NeverReboots"
    revision = dotnet("Microsoft.UpdateServices.Administration.UpdateRevisionId",
                      "Microsoft.UpdateServices.Administration.UpdateRevisionId",
                      {"UpdateId": update.id, "RevisionNumber": update.revision})

    def related(relationship):
        kind = _relationship(relationship)
        with dc.lock:
            found = {5: superseding, 6: superseded}.get(kind, lambda _dc, u: [u] if kind == 7 else [])(dc, update)
            return [iupdate(dc, u) for u in found]

    name = "Microsoft.UpdateServices.Internal.BaseApi.Update"
    return PSObject({
        "Title": update.title, "Id": revision, "Description": update.description or update.title,
        "KnowledgebaseArticles": [update.kb], "SecurityBulletins": [],
        "UpdateClassificationTitle": update.classification,
        "MsrcSeverity": update.severity if update.classification == "Security Updates" else "Unspecified",
        "CreationDate": created, "ArrivalDate": created + dt.timedelta(hours=7),
        "IsSuperseded": bool(superseding(dc, update)), "HasSupersededUpdates": bool(superseded(dc, update)),
        "IsApproved": update.approved, "IsDeclined": update.declined, "IsLatestRevision": True,
        "HasEarlierRevision": update.revision > 1, "UpdateType": "Software",
        "ProductTitles": [PRODUCTS[o] for o in update.applies_to], "ProductFamilyTitles": ["Windows"],
        "CompanyTitles": ["Microsoft"], "PublicationState": "Published", "UpdateSource": "MicrosoftUpdate",
        "IsWsusInfrastructureUpdate": update.classification == "WSUS Infrastructure Updates",
        "RequiresLicenseAgreementAcceptance": False,
        "InstallationBehavior": {"RebootBehavior": reboot, "CanRequestUserInput": False, "Impact": "Normal",
                                 "RequiresNetworkConnectivity": False},
    }, type_name=name, text=name, methods={"GetRelatedUpdates": related})


def wsus_update_object(dc, update) -> dict:
    """What Get-WsusUpdate writes: a WsusUpdate wrapping the IUpdate, with counts and display texts
    (UpdatesSupersedingThisUpdate is a list of titles, or the text "None")."""
    counts = dc.wsus_counts(update)
    total = sum(counts.values())
    ok = counts["installed"] + counts["not_applicable"]
    approved = "Declined" if update.declined else ("Install" if update.approved else "NotApproved")
    return dotnet("Microsoft.UpdateServices.Commands.WsusUpdate", "Microsoft.UpdateServices.Commands.WsusUpdate", {
        "Update": iupdate(dc, update),
        "Classification": update.classification, "Approved": approved,
        "InstalledOrNotApplicablePercentage": int(ok * 100 / total) if total else 100,
        "ComputersWithErrors": counts["failed"], "ComputersNeedingThisUpdate": counts["needing"],
        "ComputersInstalledOrNotApplicable": ok, "ComputersWithNoStatus": 0,
        "MsrcNumbers": "", "Removable": True,
        "RestartBehavior": "Required" if update.reboot_required else "Never restarts",
        "MayRequestUserInput": False, "LicenseAgreementRequired": False,
        "Products": ", ".join(PRODUCTS[o] for o in update.applies_to),
        "UpdatesSupersedingThisUpdate": [u.title for u in superseding(dc, update)] or "None",
        "UpdatesSupersededByThisUpdate": [u.title for u in superseded(dc, update)] or "None",
        "LanguagesSupported": "all", "UpdateId": update.id, "RevisionNumber": update.revision,
    })


GET_UPDATE = "GetWsusUpdateCommand"


@cmdlet("UpdateServices", "Get-WsusUpdate", {"UpdateServer": "value", "Classification": "value",
                                             "Approval": "value", "Status": "value", "UpdateId": "value",
                                             "RevisionNumber": "value"},
        pipeline="UpdateServer", command_type=WSUS + GET_UPDATE)
def get_wsus_update(ctx, UpdateServer=None, Classification="All", Approval="AnyExceptDeclined", Status="Any",
                    UpdateId=None, RevisionNumber=None):
    if UpdateServer is None:
        _wsus_server(ctx, None, None, False, GET_UPDATE)
    classification = choice(Classification, ("All", "Critical", "Security", "WSUS"), "Classification",
                            WSUS + GET_UPDATE)
    approval = choice(Approval, ("Approved", "Unapproved", "AnyExceptDeclined", "Declined"), "Approval",
                      WSUS + GET_UPDATE)
    status = choice(Status, ("Any", "Needed", "FailedOrNeeded", "InstalledOrNotApplicableOrNoStatus", "Failed",
                             "InstalledOrNotApplicable", "NoStatus"), "Status", WSUS + GET_UPDATE)
    dc = ctx.dc
    with dc.lock:
        out = []
        wanted_ids = {str(u).lower() for u in as_list(UpdateId)}
        for update in dc.updates.values():
            if wanted_ids and update.id.lower() not in wanted_ids:
                continue
            title = CLASSIFICATIONS[classification.lower()]
            if title is not None and update.classification != title:
                continue
            if approval == "Approved" and not (update.approved and not update.declined):
                continue
            if approval == "Unapproved" and (update.approved or update.declined):
                continue
            if approval == "AnyExceptDeclined" and update.declined:
                continue
            if approval == "Declined" and not update.declined:
                continue
            counts = dc.wsus_counts(update)
            if status == "Needed" and not counts["needing"]:
                continue
            if status == "FailedOrNeeded" and not (counts["needing"] or counts["failed"]):
                continue
            if status == "Failed" and not counts["failed"]:
                continue
            if status in ("InstalledOrNotApplicable", "InstalledOrNotApplicableOrNoStatus") and (
                    counts["needing"] or counts["failed"]):
                continue
            if status == "NoStatus":
                continue
            out.append(wsus_update_object(dc, update))
        if wanted_ids and not out:  # "UpdateNotFound" is the lab's invention (unconfirmed)
            raise fail(f"The update '{', '.join(wanted_ids)}' was not found.", "ObjectNotFound", "UpdateNotFound",
                       WSUS + GET_UPDATE, "System.ArgumentException")
        return out


def _update_ids(value) -> list[str]:
    ids = []
    for item in as_list(value):
        if isinstance(item, dict):
            ref = item.get("UpdateId") or (item.get("Update") or {}).get("Id", {}).get("UpdateId")
            if ref:
                ids.append(str(ref))
        elif item is not None:
            ids.append(str(item))
    return ids


APPROVE = "ApproveWsusUpdateCommand"


@cmdlet("UpdateServices", "Approve-WsusUpdate", {"Update": "value", "Action": "value", "TargetGroupName": "value"},
        pipeline="Update", command_type=WSUS + APPROVE)
def approve_wsus_update(ctx, Update=None, Action=None, TargetGroupName=None):
    # -Update, -Action and -TargetGroupName are all mandatory (no default action).
    missing = [name for name, value in (("Update", Update), ("Action", Action), ("TargetGroupName", TargetGroupName))
               if value is None]
    if missing:
        raise fail("Cannot process command because of one or more missing mandatory parameters: "
                   f"{' '.join(missing)}.", "InvalidArgument", "MissingMandatoryParameter", WSUS + APPROVE,
                   "System.Management.Automation.ParameterBindingException")
    action = choice(Action, ("Install", "NotApproved", "Uninstall", "All"), "Action", WSUS + APPROVE)
    if str(TargetGroupName).lower() not in WSUS_GROUPS:
        raise fail(f"The computer target group '{TargetGroupName}' was not found.", "ObjectNotFound",
                   "TargetGroupNotFound", WSUS + APPROVE,
                   "Microsoft.UpdateServices.Administration.WsusObjectNotFoundException", target=str(TargetGroupName))
    for update_id in _update_ids(Update):
        ctx.dc.set_approval(update_id, approved=action in ("Install", "All"), declined=False)
    return None


@cmdlet("UpdateServices", "Deny-WsusUpdate", {"Update": "value"}, pipeline="Update",
        command_type=WSUS + "DenyWsusUpdateCommand")
def deny_wsus_update(ctx, Update=None):
    for update_id in _update_ids(Update):
        ctx.dc.set_approval(update_id, declined=True)
    return None


# -- WDS ---------------------------------------------------------------------------------------------------
WDS = "Microsoft.Management.Infrastructure.CimCmdlets."


def _require_wds(ctx, command):
    if ctx.host.role != "deployment":
        raise fail("The Windows Deployment Services server is not configured on this computer.", "ObjectNotFound",
                   "WdsNotConfigured", command, WDS_EXCEPTION)


def wds_client_object(dc, staging) -> dict:
    server = dc.deployment_host()
    return cim_instance("ROOT/Microsoft/Windows/Wds", "MSFT_WdsClient", server.name if server else "", {
            "DeviceID": wds_device_guid(staging.device_id), "DeviceName": staging.device_name,
            "BootImagePath": staging.boot_image or "", "WdsClientUnattend": staging.unattend or "",
            "PxePromptPolicy": staging.prompt_policy, "JoinDomain": staging.join_domain,
            "Domain": staging.domain or "", "OU": staging.ou or "", "User": "", "JoinRights": "JoinOnly",
            "ReferralServer": server.name if server else "", "Group": ""})


@cmdlet("WDS", "New-WdsClient", {"DeviceID": "value", "DeviceName": "value", "WdsClientUnattend": "value",
                                 "BootImagePath": "value", "PxePromptPolicy": "value", "JoinDomain": "value",
                                 "Domain": "value", "OU": "value", "User": "value", "JoinRights": "value",
                                 "ReferralServer": "value", "Group": "value"},
        command_type="New-WdsClient")
def new_wds_client(ctx, DeviceID=None, DeviceName=None, WdsClientUnattend=None, BootImagePath=None,
                   PxePromptPolicy=None, JoinDomain=None, Domain=None, OU=None, User=None, JoinRights=None,
                   ReferralServer=None, Group=None):
    _require_wds(ctx, "New-WdsClient")
    if DeviceID is None or DeviceName is None:
        raise fail("Cannot process command because of one or more missing mandatory parameters: "
                   + ", ".join(n for n, v in (("DeviceID", DeviceID), ("DeviceName", DeviceName)) if v is None) + ".",
                   "InvalidArgument", "MissingMandatoryParameter", "New-WdsClient",
                   "System.Management.Automation.ParameterBindingException")
    policy = choice(PxePromptPolicy or "NoPrompt", ("NoPrompt", "OptIn", "OptOut", "Abort"), "PxePromptPolicy",
                    "New-WdsClient")
    join = truthy(JoinDomain) if JoinDomain is not None else True
    if JoinDomain is not None and join:  # -JoinDomain: the computer account is written on a domain controller
        ctx.require_second_hop(f"a domain controller of {Domain or ctx.dc.topology.domain}", "New-WdsClient")
    staging = ctx.dc.stage(ctx.host, str(DeviceID), str(DeviceName),
                           str(WdsClientUnattend) if WdsClientUnattend is not None else None,
                           str(BootImagePath) if BootImagePath is not None else None, policy, join,
                           str(Domain) if Domain is not None else ctx.dc.topology.domain,
                           str(OU) if OU is not None else None)
    with ctx.dc.lock:
        return wds_client_object(ctx.dc, staging)


@cmdlet("WDS", "Get-WdsClient", {"DeviceID": "value", "DeviceName": "value"}, command_type="Get-WdsClient")
def get_wds_client(ctx, DeviceID=None, DeviceName=None):
    _require_wds(ctx, "Get-WdsClient")
    found = ctx.dc.find_stagings(str(DeviceID) if DeviceID is not None else None,
                                 str(DeviceName) if DeviceName is not None else None)
    with ctx.dc.lock:
        return [wds_client_object(ctx.dc, s) for s in found]


@cmdlet("WDS", "Remove-WdsClient", {"DeviceID": "value", "DeviceName": "value", "Confirm": "switch"},
        command_type="Remove-WdsClient")
def remove_wds_client(ctx, DeviceID=None, DeviceName=None, Confirm=None):
    _require_wds(ctx, "Remove-WdsClient")
    if DeviceID is None and DeviceName is None:
        raise fail("Specify -DeviceID or -DeviceName.", "InvalidArgument", "MissingMandatoryParameter",
                   "Remove-WdsClient", "System.Management.Automation.ParameterBindingException")
    ctx.dc.unstage(str(DeviceID) if DeviceID is not None else None,
                   str(DeviceName) if DeviceName is not None else None)
    return None


def wds_image_object(ctx, image, index: int) -> dict:
    return cim_instance("ROOT/Microsoft/Windows/Wds", "MSFT_WdsInstallImage", ctx.host.name, {
        "ImageName": image.name, "ImageGroup": image.group, "Architecture": "X64",
        "Version": image.os.version, "FileName": image.file, "Description": image.os.caption,
        "Index": 1 if image.file.lower().endswith((".vhd", ".vhdx")) else 4, "Size": 9_876_543_210 + index,
        "Languages": ["en-US"], "Enabled": True, "Priority": 500000, "ProductName": image.os.caption})


@cmdlet("WDS", "Get-WdsInstallImage", {"ImageName": "value", "ImageGroup": "value", "FileName": "value"},
        command_type="Get-WdsInstallImage")
def get_wds_install_image(ctx, ImageName=None, ImageGroup=None, FileName=None):
    _require_wds(ctx, "Get-WdsInstallImage")
    out = []
    for i, image in enumerate(ctx.dc.install_images()):
        if ImageName is not None and image.name.lower() != str(ImageName).lower():
            continue
        if ImageGroup is not None and image.group.lower() != str(ImageGroup).lower():
            continue
        if FileName is not None and image.file.lower() != str(FileName).lower():
            continue
        out.append(wds_image_object(ctx, image, i))
    return out


@cmdlet("WDS", "Import-WdsInstallImage", {"Path": "value", "ImageGroup": "value", "ImageName": "value",
                                          "NewImageName": "value", "NewDescription": "value", "NewFileName": "value",
                                          "UnattendFile": "value", "DisplayOrder": "value", "SkipVerify": "switch",
                                          "TransmissionName": "value", "Multicast": "switch"},
        command_type="Import-WdsInstallImage")
def import_wds_install_image(ctx, Path=None, ImageGroup=None, ImageName=None, NewImageName=None, NewDescription=None,
                             NewFileName=None, UnattendFile=None, DisplayOrder=None, SkipVerify=False,
                             TransmissionName=None, Multicast=False):
    _require_wds(ctx, "Import-WdsInstallImage")
    if Path is None:
        raise fail("Cannot process command because of one or more missing mandatory parameters: Path.",
                   "InvalidArgument", "MissingMandatoryParameter", "Import-WdsInstallImage",
                   "System.Management.Automation.ParameterBindingException")
    if UnattendFile is not None and ctx.dc.read_file(ctx.host, str(UnattendFile)) is None:
        raise fail(f"The system cannot find the file specified: '{UnattendFile}'.", "ObjectNotFound", "0x80070002",
                   "Import-WdsInstallImage", WDS_EXCEPTION)
    image = ctx.dc.import_image(str(Path), str(ImageGroup) if ImageGroup is not None else None,
                                str(ImageName) if ImageName is not None else None,
                                str(NewImageName) if NewImageName is not None else None,
                                str(NewFileName) if NewFileName is not None else None)
    with ctx.dc.lock:
        return wds_image_object(ctx, image, len(ctx.dc.images))


@cmdlet("WDS", "Get-WdsBootImage", {"ImageName": "value", "Architecture": "value"}, command_type="Get-WdsBootImage")
def get_wds_boot_image(ctx, ImageName=None, Architecture=None):
    _require_wds(ctx, "Get-WdsBootImage")
    return [{"ImageName": "Microsoft Windows Setup (x64)", "Architecture": "X64", "FileName": "boot.wim",
             "Description": "Microsoft Windows Setup (x64)", "Enabled": True, "Priority": 500000,
             "Path": "Boot\\x64\\Images\\boot.wim"}]
