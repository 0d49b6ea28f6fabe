"""The library lists the deployment server's install images, with their release and build."""
import pytest

from fabric.inventory import add_deployment_server, refresh_deployment_server
from fabric.models import HostGroup, LibraryImage, PhysicalComputerProfile
from tests.agents.conftest import https_target

pytestmark = [pytest.mark.django_db]


def library():
    return {i.name: (i.os_build, i.vhd_path, i.image_group) for i in LibraryImage.objects.all()}


@pytest.mark.lab
def test_adding_and_refreshing_a_deployment_server_fills_the_library(lab, lab_run_as):
    server = add_deployment_server(run_as=lab_run_as, **https_target(lab, "UWDS"))
    assert library() == {
        "Windows Server 2022 SERVERDATACENTER (WS2022 on UWDS)":
            (20348, "D:\\RemoteInstall\\Images\\WS2022\\WS2022.vhdx", "WS2022"),
        "Windows Server 2025 SERVERDATACENTER (WS2025 on UWDS)":
            (26100, "D:\\RemoteInstall\\Images\\WS2025\\WS2025.vhdx", "WS2025"),
    }
    image = LibraryImage.objects.get(os_build=20348)
    assert image.os_name == "Microsoft Windows Server 2022 Datacenter" and image.deployment_server == server
    PhysicalComputerProfile.objects.create(name="WS2022 hosts", image=image, host_group=HostGroup.root())

    code, _, err = lab.run_ps("UWDS", "Import-WdsInstallImage -Path 'E:\\Media\\WS2025-Std.vhdx' -ImageGroup WS2025")
    assert code == 0, err
    assert refresh_deployment_server(server) == []
    assert len(library()) == 3
    assert LibraryImage.objects.get(image_name="Windows Server 2025 SERVERSTANDARD").os_build == 26100
    # Refreshing again changes nothing and keeps the profile's image.
    add_deployment_server(run_as=lab_run_as, **https_target(lab, "UWDS"))
    assert len(library()) == 3 and PhysicalComputerProfile.objects.get().image == image


def test_an_image_typed_in_by_hand_is_a_vhdx_not_a_wim():
    from django.core.exceptions import ValidationError

    image = LibraryImage(name="by hand", vhd_path="D:\\Images\\install.wim", os_name="Windows Server 2022",
                         os_version="10.0.20348", os_build=20348)
    with pytest.raises(ValidationError, match="deployment server's image store"):
        image.full_clean()
    image.vhd_path = "D:\\Images\\ws2022.vhdx"
    image.full_clean()


@pytest.mark.lab
def test_refreshing_everything_reads_the_deployment_servers_images_again(lab, lab_run_as):
    from fabric.inventory import refresh_all

    add_deployment_server(run_as=lab_run_as, **https_target(lab, "UWDS"))
    code, _, err = lab.run_ps("UWDS", "Import-WdsInstallImage -Path 'E:\\Media\\WS2025-Std.vhdx' -ImageGroup WS2025")
    assert code == 0, err
    assert refresh_all() == {}
    assert LibraryImage.objects.filter(os_build=26100).count() == 2
