"""The deployment (WDS/PXE) server: prestaged devices, answer files, OS images; host files."""
from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET

from lab.datacenter.core import OperationError
from lab.datacenter.model import Host, Staging
from lab.topology import normalize_mac

WDS_EXCEPTION = "Microsoft.Management.Infrastructure.CimException"
# The error id "DeviceNotFound" is the lab's invention (unconfirmed).
_DEVICE_RE = re.compile(r"^\[?[0-9A-Fa-f-]{32,36}\]?$|^([0-9A-Fa-f]{2}[-:]?){5}[0-9A-Fa-f]{2}$")


def normalize_path(path: str) -> str:
    return path.replace("/", "\\").rstrip("\\").lower()


def device_id(value: str) -> str:
    """A MAC ('00-15-5D-..', '00155D..') or a WDS GUID ('[00000000-0000-0000-0000-00155D......]')."""
    if not _DEVICE_RE.match(value.strip()):
        raise OperationError(f"The device ID '{value}' is not a valid MAC address or GUID.", "InvalidArgument",
                             "InvalidDeviceId", WDS_EXCEPTION)
    return normalize_mac(value)


def wds_device_guid(mac: str) -> str:
    return "[00000000-0000-0000-0000-" + mac.replace("-", "") + "]"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element, *names):
    for name in names:
        if element is None:
            return None
        element = next((c for c in element if _local(c.tag) == name), None)
    return element


def _text(element, *names) -> str | None:
    found = _child(element, *names)
    return found.text.strip() if found is not None and found.text and found.text.strip() else None


class DeploymentOps:
    def deployment_host(self) -> Host | None:
        name = self.topology.deployment_server
        return self.hosts.get(name) if name else None

    # -- files on a host (Set-Content / Get-Content / Test-Path / Remove-Item) -----------------------
    def write_file(self, host: Host, path: str, text: str) -> None:
        with self.change():
            if not re.match(r"^[A-Za-z]:\\", path.replace("/", "\\")):
                raise OperationError(f"Cannot find drive. A drive with the name '{path.split(':')[0]}' does "
                                     f"not exist." if ":" in path else
                                     f"Could not find a part of the path '{path}'.", "ObjectNotFound",
                                     "DriveNotFound", "System.Management.Automation.DriveNotFoundException")
            host.files[normalize_path(path)] = (path, text)

    def read_file(self, host: Host, path: str) -> str | None:
        with self.lock:
            entry = host.files.get(normalize_path(path))
            return entry[1] if entry else None

    def delete_file(self, host: Host, path: str) -> bool:
        with self.change():
            return host.files.pop(normalize_path(path), None) is not None

    def remote_install_path(self, path: str) -> str:
        if re.match(r"^[A-Za-z]:\\", path.replace("/", "\\")):
            return path
        return self.topology.remote_install + "\\" + path.replace("/", "\\").lstrip("\\")

    # -- staging -----------------------------------------------------------------------------------
    def stage(self, host: Host, device: str, name: str, unattend: str | None, boot_image: str | None,
              prompt_policy: str, join_domain: bool, domain: str | None, ou: str | None) -> Staging:
        with self.change():
            mac = device_id(device)
            if mac in self.stagings:
                raise OperationError(f"The device ID {wds_device_guid(mac)} is already in use by prestaged "
                                     f"device '{self.stagings[mac].device_name}'.", "ResourceExists",
                                     "DeviceExists", WDS_EXCEPTION)
            if any(s.device_name.lower() == name.lower() for s in self.stagings.values()):
                raise OperationError(f"A prestaged device named '{name}' already exists.", "ResourceExists",
                                     "DeviceExists", WDS_EXCEPTION)
            if unattend is not None and self.read_file(host, self.remote_install_path(unattend)) is None:
                raise OperationError(f"The unattend file '{unattend}' was not found under "
                                     f"{self.topology.remote_install}.", "ObjectNotFound", "FileNotFound",
                                     WDS_EXCEPTION)
            staging = Staging(device_id=mac, device_name=name, unattend=unattend, boot_image=boot_image,
                              prompt_policy=prompt_policy, join_domain=join_domain, domain=domain, ou=ou,
                              created=self.clock.now())
            self.stagings[mac] = staging
            self.event("wds-client-staged", device=mac, name=name)
            return staging

    def unstage(self, device: str | None = None, name: str | None = None) -> list[Staging]:
        with self.change():
            found = self.find_stagings(device, name)
            if not found:
                raise OperationError(f"The prestaged device '{device or name}' was not found.", "ObjectNotFound",
                                     "DeviceNotFound", WDS_EXCEPTION)
            for staging in found:
                del self.stagings[staging.device_id]
                self.event("wds-client-removed", device=staging.device_id, name=staging.device_name)
            return found

    def find_stagings(self, device: str | None = None, name: str | None = None) -> list[Staging]:
        with self.lock:
            result = list(self.stagings.values())
            if device is not None:
                mac = device_id(device)
                result = [s for s in result if s.device_id == mac]
            if name is not None:
                result = [s for s in result if s.device_name.lower() == name.lower()]
            return result

    def staging_for(self, host: Host) -> Staging | None:
        """The staged deployment a PXE-booting host gets (the deployment server must be running)."""
        server = self.deployment_host()
        if server is None or not server.online:
            return None
        for nic in host.nics:
            if nic.mac in self.stagings:
                return self.stagings[nic.mac]
        return None

    def unattend_content(self, staging: Staging) -> str | None:
        server = self.deployment_host()
        if server is None or staging.unattend is None:
            return None
        entry = server.files.get(normalize_path(self.remote_install_path(staging.unattend)))
        return entry[1] if entry else None

    # -- answer file -------------------------------------------------------------------------------
    def parse_unattend(self, content: str | None, staging: Staging) -> dict:
        """What a WDS *client* unattend file decides: only the windowsPE pass's WDS client screens
        (install image, target disk). Later passes (computer name, TCP/IP, DNS, domain join, ...)
        belong to the image's own unattend file; WDS ignores them here, and so does the lab. The
        host's identity comes from the prestaged device: DeviceName, and JoinDomain/Domain."""
        settings: dict = {"computer_name": staging.device_name,
                          "domain": staging.domain if staging.join_domain else None, "ignored": []}
        if content is None:
            return settings
        try:
            root = ET.fromstring(content)
        except ET.ParseError as error:
            raise OperationError(f"the answer file is not valid XML: {error}") from None
        if _local(root.tag) != "unattend":
            raise OperationError("the answer file's root element is not <unattend>")
        for pass_ in root:
            if _local(pass_.tag) != "settings":
                continue
            for component in pass_:
                name = component.get("name", "")
                if pass_.get("pass") != "windowsPE":
                    settings["ignored"].append(f"{pass_.get('pass')}/{name}")
                    continue
                if name == "Microsoft-Windows-Setup":
                    wds = _child(component, "WindowsDeploymentServices")
                    image = _child(wds, "ImageSelection", "InstallImage")
                    if image is not None:
                        settings["image_name"] = _text(image, "ImageName")
                        settings["image_group"] = _text(image, "ImageGroup")
                        settings["image_file"] = _text(image, "Filename")
                    disk = _text(wds, "ImageSelection", "InstallTo", "DiskID")
                    if disk is not None:
                        settings["disk"] = int(disk) if disk.isdigit() else disk
        return settings

    # -- install images ----------------------------------------------------------------------------
    def install_images(self) -> list:
        with self.lock:
            return [i for i in self.images if i.imported]

    def import_image(self, path: str, group: str | None, image_name: str | None, new_name: str | None,
                     new_file_name: str | None):
        """Import-WdsInstallImage: a WIM or VHD(X) on the server's disk into an image group."""
        with self.change():
            wanted = normalize_path(path)
            if not re.search(r"\.(wim|vhdx?)$", wanted):
                raise OperationError(f"'{path}' is not a WIM, VHD or VHDX file.", "InvalidArgument",
                                     "0xC1103006", WDS_EXCEPTION)
            media = next((i for i in self.images if not i.imported and normalize_path(i.file) == wanted), None)
            if media is None:
                raise OperationError(f"The system cannot find the file specified: '{path}'.", "ObjectNotFound",
                                     "0x80070002", WDS_EXCEPTION)
            groups = sorted({i.group for i in self.images if i.imported}, key=str.lower)
            if group is None:
                if len(groups) != 1:
                    raise OperationError("An image group must be specified (-ImageGroup): the server has "
                                         f"{len(groups)} image groups.", "InvalidArgument", "0xC1103003",
                                         WDS_EXCEPTION)
                group = groups[0]
            elif group.lower() not in {g.lower() for g in groups}:
                # Stricter than observed: the group is created first (New-WdsInstallImageGroup).
                raise OperationError(f"The image group '{group}' does not exist.", "ObjectNotFound",
                                     "0xC1103002", WDS_EXCEPTION)
            else:
                group = next(g for g in groups if g.lower() == group.lower())
            if image_name is not None and image_name.lower() != media.name.lower():
                raise OperationError(f"The image '{image_name}' was not found in '{path}'.", "ObjectNotFound",
                                     "0xC1103001", WDS_EXCEPTION)
            name = new_name or media.name
            file = new_file_name or path.replace("/", "\\").rsplit("\\", 1)[-1]
            for image in self.images:
                if image.imported and image.group.lower() == group.lower() and (
                        image.name.lower() == name.lower() or image.file.lower() == file.lower()):
                    raise OperationError(f"An image named '{image.name}' ({image.file}) already exists in image "
                                         f"group '{group}'.", "ResourceExists", "0xC1103005", WDS_EXCEPTION)
            image = dataclasses.replace(media, name=name, group=group, file=file, imported=True)
            self.images.append(image)
            self.event("wds-image-imported", image=name, group=group, file=file, os=media.os.caption)
            return image

    def pick_image(self, settings: dict):
        images = [i for i in self.images if i.imported]
        wanted = settings.get("image_name")
        if wanted:
            for image in images:
                if image.name.lower() == wanted.lower() and (
                        not settings.get("image_group") or image.group.lower() == settings["image_group"].lower()):
                    return image
            raise OperationError(f"the answer file selects install image '{wanted}', which the deployment "
                                 f"server does not have")
        if len(images) == 1:
            return images[0]
        raise OperationError("the answer file selects no install image (windowsPE Microsoft-Windows-Setup "
                             "WindowsDeploymentServices/ImageSelection/InstallImage/ImageName) and the "
                             "deployment server has several")
