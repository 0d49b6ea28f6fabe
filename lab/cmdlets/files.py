"""Files, the pending-reboot registry keys, SMB shares and computer accounts in the directory."""
from __future__ import annotations

import fnmatch
import re
import uuid

from lab.cmdlets.binding import cdxml_not_found, enum_values, not_empty, one_set, require
from lab.cmdlets.common import as_list, cim_instance, cmdlet, dotnet, fail, names_of, ps_enum, truthy
from lab.datacenter.deployment import normalize_path

MGMT = "Microsoft.PowerShell.Commands."
PATH_TYPES = {"Any": 0, "Container": 1, "Leaf": 2}
REBOOT_KEYS = (
    "hklm:\\software\\microsoft\\windows\\currentversion\\windowsupdate\\auto update\\rebootrequired",
    "hklm:\\software\\microsoft\\windows\\currentversion\\component based servicing\\rebootpending",
)
EXISTING_KEYS = (
    "hklm:\\software", "hklm:\\software\\microsoft", "hklm:\\software\\microsoft\\windows",
    "hklm:\\software\\microsoft\\windows\\currentversion",
    "hklm:\\software\\microsoft\\windows\\currentversion\\windowsupdate",
    "hklm:\\software\\microsoft\\windows\\currentversion\\windowsupdate\\auto update",
    "hklm:\\software\\microsoft\\windows\\currentversion\\component based servicing",
    "hklm:\\system\\currentcontrolset\\control\\session manager",
)


def _registry_path(path: str) -> str:
    path = path.replace("/", "\\").rstrip("\\").lower()
    return re.sub(r"^(registry::)?hkey_local_machine", "hklm:", path)


# Folders every simulated server has; the deployment server adds RemoteInstall and the folders WDS
# keeps in it. A folder made with New-Item is kept in host.files under its path and a trailing "\".
SYSTEM_FOLDERS = ("c:", "c:\\windows", "c:\\windows\\temp", "c:\\windows\\system32", "c:\\users", "c:\\programdata",
                  "c:\\program files", "d:")
REMOTE_INSTALL_FOLDERS = ("boot", "images", "mgmt", "stores", "templates", "tmp", "wdsclientunattend")


def _known_folders(ctx, host) -> set[str]:
    folders = set(SYSTEM_FOLDERS)
    if host.role == "deployment":
        root = normalize_path(ctx.dc.topology.remote_install)
        folders |= {root} | {root + "\\" + name for name in REMOTE_INSTALL_FOLDERS}
    return folders


def _is_directory(ctx, host, path: str) -> bool:
    norm = normalize_path(path)
    inside = norm + "\\"
    return any(f == norm or f.startswith(inside) for f in _known_folders(ctx, host)) or \
        any(key.startswith(inside) for key in host.files)


def _parent_exists(ctx, path: str, command: str, error_id: str, category: str) -> None:
    """Windows writes a file only into a folder that exists ("Could not find a part of the path")."""
    norm = normalize_path(path)
    if not re.match(r"^[a-z]:\\", norm):
        return  # not a drive path: write_file answers DriveNotFound
    with ctx.dc.lock:
        exists = _is_directory(ctx, ctx.host, norm.rsplit("\\", 1)[0])
    if not exists:
        raise fail(f"Could not find a part of the path '{path}'.", category, error_id, MGMT + command,
                   "System.IO.DirectoryNotFoundException", target=path)


def _make_folders(ctx, path: str) -> None:
    """New-Item -ItemType Directory (and -Force for a file): the folder and every missing parent."""
    parts = normalize_path(path).split("\\")
    with ctx.dc.lock:
        for i in range(2, len(parts) + 1):
            folder = "\\".join(parts[:i])
            if not _is_directory(ctx, ctx.host, folder):
                ctx.host.files[folder + "\\"] = (folder, None)


def _not_found(path, command):
    return fail(f"Cannot find path '{path}' because it does not exist.", "ObjectNotFound", "PathNotFound",
                MGMT + command, "System.Management.Automation.ItemNotFoundException", target=path)


ENCODINGS = {"Unknown": 0, "String": 1, "Unicode": 2, "Byte": 3, "BigEndianUnicode": 4, "UTF8": 5, "UTF7": 6,
             "UTF32": 7, "Ascii": 8, "Default": 9, "Oem": 10, "BigEndianUTF32": 11}
ENCODING_TYPE = "Microsoft.PowerShell.Commands.FileSystemCmdletProviderEncoding"


def _paths(Path, LiteralPath, command) -> list[str]:
    """-Path or -LiteralPath (parameter sets of their own; one of them is mandatory, never empty)."""
    one_set(MGMT + command, {"Path": Path}, {"LiteralPath": LiteralPath})
    value = Path if Path is not None else LiteralPath
    require(MGMT + command, Path=value)
    not_empty(value, "Path" if Path is not None else "LiteralPath", MGMT + command)
    return names_of(value)


@cmdlet("Microsoft.PowerShell.Management", "Set-Content",
        {"Path": "value", "LiteralPath": "value", "Value": "value", "Encoding": "value", "Force": "switch",
         "NoNewline": "switch"},
        positional=("Path", "Value"), pipeline="Value", command_type=MGMT + "SetContentCommand")
def set_content(ctx, Path=None, LiteralPath=None, Value=None, Encoding=None, Force=False, NoNewline=False):
    paths = _paths(Path, LiteralPath, "SetContentCommand")
    require(MGMT + "SetContentCommand", Value=Value)
    enum_values(Encoding, ENCODINGS, "Encoding", ENCODING_TYPE, MGMT + "SetContentCommand")
    lines = ["" if v is None else str(v) for v in as_list(Value)]
    text = ("" if truthy(NoNewline) else "\r\n").join(lines) + ("" if truthy(NoNewline) else "\r\n")
    for path in paths:
        _parent_exists(ctx, path, "SetContentCommand", "GetContentWriterDirectoryNotFoundError", "ObjectNotFound")
        ctx.dc.write_file(ctx.host, path, text)
    return None


@cmdlet("Microsoft.PowerShell.Management", "Get-Content", {"Path": "value", "LiteralPath": "value", "Raw": "switch",
                                                           "Encoding": "value"},
        positional=("Path",), command_type=MGMT + "GetContentCommand")
def get_content(ctx, Path=None, LiteralPath=None, Raw=False, Encoding=None):
    path = _paths(Path, LiteralPath, "GetContentCommand")[0]
    enum_values(Encoding, ENCODINGS, "Encoding", ENCODING_TYPE, MGMT + "GetContentCommand")
    text = ctx.dc.read_file(ctx.host, path)
    if text is None:
        raise _not_found(path, "GetContentCommand")
    if truthy(Raw):
        return text
    lines = text.split("\r\n") if "\r\n" in text else text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


@cmdlet("Microsoft.PowerShell.Management", "Test-Path", {"Path": "value", "LiteralPath": "value",
                                                         "PathType": "value"},
        positional=("Path",), command_type=MGMT + "TestPathCommand")
def test_path(ctx, Path=None, LiteralPath=None, PathType=None):
    paths = _paths(Path, LiteralPath, "TestPathCommand")
    kind = enum_values(PathType if PathType is not None else "Any", PATH_TYPES, "PathType",
                       "Microsoft.PowerShell.Commands.TestPathType", MGMT + "TestPathCommand")[0]
    out = []
    host = ctx.host
    for path in paths:
        registry = _registry_path(path)
        if registry.startswith("hklm:"):
            with ctx.dc.lock:
                exists = registry in EXISTING_KEYS or (registry in REBOOT_KEYS and host.pending_reboot)
            out.append(exists and kind != PATH_TYPES["Leaf"])
            continue
        with ctx.dc.lock:
            is_file = normalize_path(path) in host.files
            is_dir = _is_directory(ctx, host, path)
        out.append((is_file and kind != PATH_TYPES["Container"]) or (is_dir and kind != PATH_TYPES["Leaf"]))
    return out


@cmdlet("Microsoft.PowerShell.Management", "Remove-Item", {"Path": "value", "LiteralPath": "value",
                                                           "Force": "switch", "Recurse": "switch",
                                                           "Confirm": "switch"},
        positional=("Path",), command_type=MGMT + "RemoveItemCommand")
def remove_item(ctx, Path=None, LiteralPath=None, Force=False, Recurse=False, Confirm=None):
    for path in _paths(Path, LiteralPath, "RemoveItemCommand"):
        folder = normalize_path(path) + "\\"
        with ctx.dc.lock:
            made = folder in ctx.host.files
            inside = [k for k in ctx.host.files if k.startswith(folder) and k != folder]
        if made:
            if inside and not truthy(Recurse):
                raise fail(f"The item at {path} has children and the Recurse parameter was not specified.",
                           "InvalidOperation", "RemoveItemNotRecursive", MGMT + "RemoveItemCommand",
                           "System.Management.Automation.PSInvalidOperationException", target=path)
            with ctx.dc.lock:
                for key in [folder] + inside:
                    ctx.host.files.pop(key, None)
        elif not ctx.dc.delete_file(ctx.host, path):
            raise _not_found(path, "RemoveItemCommand")
    return None


ITEM_TYPES = ("File", "Directory", "SymbolicLink", "Junction", "HardLink")


@cmdlet("Microsoft.PowerShell.Management", "New-Item", {"Path": "value", "ItemType": "value", "Value": "value",
                                                        "Force": "switch", "Name": "value"},
        positional=("Path",), command_type=MGMT + "NewItemCommand")
def new_item(ctx, Path=None, ItemType=None, Value=None, Force=False, Name=None):
    command = MGMT + "NewItemCommand"
    if Name is None:
        require(command, Path=Path)
    not_empty(Path if Path is not None else "C:\\", "Path", command)
    path = names_of(Path)[0] if Path is not None else "C:\\"
    if Name is not None:
        path = path.rstrip("\\") + "\\" + str(Name)
    item_type = str(ItemType or "File")
    if item_type.lower() not in [t.lower() for t in ITEM_TYPES]:
        raise fail('The type is not a known type for the file system. Only "file","directory","symboliclink",'
                   '"junction","hardlink" can be specified.', "InvalidArgument", "Argument", command,
                   "System.Management.Automation.PSArgumentException")
    leaf = path.replace("/", "\\").rstrip("\\").rsplit("\\", 1)[-1]
    is_directory = item_type.lower() == "directory"
    with ctx.dc.lock:
        exists = _is_directory(ctx, ctx.host, path) if is_directory else normalize_path(path) in ctx.host.files
    if is_directory:
        if exists and not truthy(Force):
            raise fail(f"An item with the specified name {path} already exists.", "ResourceExists",
                       "DirectoryExist", command, "System.IO.IOException", target=path)
        _make_folders(ctx, path)
    else:
        if exists and not truthy(Force):
            raise fail(f"The file '{path}' already exists.", "WriteError", "NewItemIOError", command,
                       "System.IO.IOException", target=path)
        if truthy(Force):
            _make_folders(ctx, normalize_path(path).rsplit("\\", 1)[0])
        _parent_exists(ctx, path, "NewItemCommand", "NewItemIOError", "WriteError")
        ctx.dc.write_file(ctx.host, path, "" if Value is None else str(Value))
    return {"Name": leaf, "FullName": path, "PSIsContainer": is_directory}


# -- SMB ----------------------------------------------------------------------------------------------------
def _share(server, name, scope, path, description, ca=False, availability=(0, "NonClustered"), special=False,
           share_type=(0, "FileSystemDirectory")):
    return cim_instance("ROOT/Microsoft/Windows/SMB", "MSFT_SmbShare", server, {
            "Name": name, "ScopeName": scope, "Path": path, "Description": description,
            "ContinuouslyAvailable": ca, "ShareState": ps_enum(1, "Online"),
            "AvailabilityType": ps_enum(*availability), "ShareType": ps_enum(*share_type),
            "FolderEnumerationMode": ps_enum(1, "Unrestricted"), "CachingMode": ps_enum(1, "Manual"),
            "EncryptData": False, "Special": special, "CurrentUsers": 0, "Temporary": False},
        key=f"Name = \"{name}\", ScopeName = \"{scope}\"")


@cmdlet("SmbShare", "Get-SmbShare", {"Name": "value", "ScopeName": "value", "Special": "value"},
        positional=("Name",), command_type="Get-SmbShare")
def get_smb_share(ctx, Name=None, ScopeName=None, Special=None):
    dc = ctx.dc
    with dc.lock:
        host = ctx.host
        shares = [_share(host.name, "ADMIN$", "*", "C:\\Windows", "Remote Admin", special=True),
                  _share(host.name, "C$", "*", "C:\\", "Default share", special=True),
                  _share(host.name, "IPC$", "*", "", "Remote IPC", special=True,
                         share_type=(3, "InterprocessCommunication"))]
        if host.role == "deployment":
            shares.append(_share(host.name, "REMINST", "*", dc.topology.remote_install,
                                 "Windows Deployment Services Share"))
        if host.role == "wsus":
            shares.append(_share(host.name, "WsusContent", "*", "D:\\WSUS\\WsusContent", "WSUS content share"))
        cluster = dc.cluster_of(host)
        if cluster is not None and cluster.kind == "sofs" and dc.cluster_online(cluster):
            for share in cluster.shares:
                shares.append(_share(host.name, share.name, share.scope, share.path, share.description,
                                     share.continuously_available, (2, "ScaleOut")))
        if ScopeName is not None:
            scopes = {s.lower() for s in names_of(ScopeName)}
            shares = [s for s in shares if s["ScopeName"].lower() in scopes]
        if Special is not None:
            shares = [s for s in shares if s["Special"] == truthy(Special)]
        if Name is None:
            return shares
        out = []
        for name in names_of(Name):
            found = [s for s in shares if s["Name"].lower() == name.lower()]
            if not found:
                raise cdxml_not_found("MSFT_SMBShare", "Name", name, "Get-SmbShare")
            out.extend(found)
        return out


# -- Active Directory -------------------------------------------------------------------------------------
AD = "Microsoft.ActiveDirectory.Management.Commands.GetADComputer"


def _directory(dc) -> dict[str, str]:
    names = {}
    for host in dc.hosts.values():
        if host.domain:
            names[host.name.lower()] = host.name
    for cluster in dc.clusters.values():
        names[cluster.name.lower()] = cluster.name
        for role in cluster.sofs_roles:
            names[role.name.lower()] = role.name
    for name in dc.topology.taken_names:
        names[name.lower()] = name
    return names


def _ad_object(dc, name) -> dict:
    dn_domain = ",".join(f"DC={p}" for p in dc.topology.domain.split("."))
    return dotnet("Microsoft.ActiveDirectory.Management.ADComputer", f"CN={name},CN=Computers,{dn_domain}", {
            "DistinguishedName": f"CN={name},CN=Computers,{dn_domain}", "DNSHostName": f"{name}.{dc.topology.domain}",
            "Enabled": True, "Name": name, "ObjectClass": "computer",
            "ObjectGUID": str(uuid.uuid5(uuid.NAMESPACE_DNS, name.lower())), "SamAccountName": f"{name.upper()}$",
            "SID": f"S-1-5-21-1004336348-1177238915-682003330-{1100 + sum(map(ord, name.lower()))}"})


@cmdlet("ActiveDirectory", "Get-ADComputer", {"Identity": "value", "Filter": "value", "Properties": "value",
                                              "Server": "value"},
        positional=("Identity",), command_type=AD)
def get_ad_computer(ctx, Identity=None, Filter=None, Properties=None, Server=None):
    one_set(AD, {"Identity": Identity}, {"Filter": Filter})
    if Identity is None:
        require(AD, Filter=Filter)
    dc = ctx.dc
    if not ctx.can_delegate:
        # the AD module reaches a domain controller's AD Web Services as the caller; without a
        # delegable logon that fails as if no server answered (unconfirmed: forum reports)
        raise fail("Unable to contact the server. This may be because this server does not exist, it is currently "
                   "down, or it does not have the Active Directory Web Services running.", "ResourceUnavailable",
                   "ActiveDirectoryServer:0", AD, "Microsoft.ActiveDirectory.Management.ADServerDownException")
    with dc.lock:
        directory = _directory(dc)
        if Identity is not None:
            name = names_of(Identity)[0].rstrip("$")
            if name.lower() not in directory:
                dn_domain = ",".join(f"DC={p}" for p in dc.topology.domain.split("."))
                raise fail(f"Cannot find an object with identity: '{name}' under: '{dn_domain}'.", "ObjectNotFound",
                           "ActiveDirectoryCmdlet:Microsoft.ActiveDirectory.Management.ADIdentityNotFoundException",
                           AD, "Microsoft.ActiveDirectory.Management.ADIdentityNotFoundException", target=name)
            return _ad_object(dc, directory[name.lower()])
        match = re.match(r"^\s*\{?\s*Name\s+-(eq|like)\s+['\"]([^'\"]*)['\"]\s*\}?\s*$", str(Filter or ""),
                         re.IGNORECASE)
        if Filter is not None and str(Filter).strip() in ("*", "'*'"):
            return [_ad_object(dc, n) for n in directory.values()]
        if not match:
            raise fail("The lab's directory understands -Filter \"Name -eq 'X'\", \"Name -like 'X*'\" and \"*\".",
                       "InvalidArgument", "ActiveDirectoryCmdlet:System.ArgumentException", AD,
                       "System.ArgumentException")
        op, value = match.group(1).lower(), match.group(2).lower()
        names = [n for key, n in directory.items() if (key == value if op == "eq" else fnmatch.fnmatch(key, value))]
        return [_ad_object(dc, n) for n in names]
