"""The library's install images, as a deployment server lists them (Get-WdsInstallImage).

Adding or refreshing a deployment server writes its image store into the library, so a profile
names an image the server really has instead of a typed path. An image the server no longer lists
is deleted unless a profile still names it (then it stays, and the caller is told).
"""
from django.db import transaction
from django.utils import timezone

from fabric import agents
from fabric.inventory.store import InventoryError, validated_save
from fabric.models import DeploymentServer, LibraryImage


def image_store_path(server: DeploymentServer, image) -> str:
    """Where WDS keeps an install image: RemoteInstall\\Images\\<group>\\<file>."""
    return "\\".join([server.remote_install_path.rstrip("\\"), "Images", image.group, image.file_name])


def library_name(server: DeploymentServer, image) -> str:
    return f"{image.name} ({image.group} on {server.name})"[:100]


@transaction.atomic
def store_install_images(server: DeploymentServer, images: list) -> list[str]:
    """Upsert the server's images into the library; returns warnings (images kept or skipped)."""
    warnings, keep = [], []
    for image in images:
        if image.build is None:
            warnings.append(f"Install image {image.name!r} ({image.group}) reports no usable version "
                            f"({image.version!r}); it is not listed in the library.")
            continue
        found = LibraryImage.objects.select_for_update().filter(
            deployment_server=server, image_group__iexact=image.group, image_name__iexact=image.name).first()
        found = found or LibraryImage(deployment_server=server, image_group=image.group, image_name=image.name)
        found.name = library_name(server, image)
        found.vhd_path = image_store_path(server, image)
        found.os_name = (image.product or image.name)[:100]
        found.os_version = image.version[:30]
        found.os_build = image.build
        try:
            keep.append(validated_save(found, f"Install image {image.name}").pk)
        except InventoryError as error:
            warnings.append(str(error))
    for gone in LibraryImage.objects.filter(deployment_server=server).exclude(pk__in=keep):
        if gone.profiles.exists():
            warnings.append(f"{server.name} no longer lists {gone.image_name!r}; the library keeps it because "
                            f"profile {gone.profiles.first()} names it.")
        else:
            gone.delete()
    return warnings


def refresh_deployment_server(server: DeploymentServer) -> list[str]:
    """Re-read a deployment server's image store into the library; returns warnings."""
    info = agents.deployment.get_deployment_server(agents.Connection.for_endpoint(server))
    warnings = store_install_images(server, info.images)
    DeploymentServer.objects.filter(pk=server.pk).update(last_refreshed=timezone.now())
    return warnings


__all__ = ["image_store_path", "library_name", "refresh_deployment_server", "store_install_images"]
