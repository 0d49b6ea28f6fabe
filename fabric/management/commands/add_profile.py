"""`manage.py add_profile NAME --image IMAGE [--domain D] [--run-as R] [--host-group G]`: create or
update a physical computer profile (what a bare-metal deployment needs)."""
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core.audit import AuditAction, record
from fabric.management.commands._machine_options import find_host_group
from fabric.models import HostGroup, LibraryImage, PhysicalComputerProfile, RunAsAccount


def _image(name: str) -> LibraryImage:
    found = LibraryImage.objects.filter(name__iexact=name.strip()).first()
    if found is None:
        known = ", ".join(LibraryImage.objects.values_list("name", flat=True)[:10]) or "none: add a deployment server"
        raise CommandError(f"No library image is named {name!r} (the library has: {known}).")
    return found


class Command(BaseCommand):
    help = ("Create or update a physical computer profile: the library image hosts are re-imaged with, the "
            "domain they join (with the Run As account allowed to join it) and the host group they go to.")

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--image", required=True, help="the library image's name")
        parser.add_argument("--domain", default="", help="the domain the hosts join")
        parser.add_argument("--run-as", default="", help="the Run As account allowed to join the domain")
        parser.add_argument("--host-group", default="", help="where deployed hosts go (default: the root)")
        parser.add_argument("--description", default="")

    def handle(self, *args, name, image, domain, run_as, host_group, description, **options):
        if not name.strip() or len(name) > 100:
            raise CommandError("Give the profile a name of 1 to 100 characters.")
        library_image = _image(image)
        account = None
        if run_as:
            account = RunAsAccount.objects.filter(name=run_as).first()
            if account is None:
                raise CommandError(f"No Run As account is named {run_as!r}.")
        group = find_host_group(host_group) or HostGroup.root()
        with transaction.atomic():
            profile = PhysicalComputerProfile.objects.select_for_update().filter(name=name.strip()).first()
            created = profile is None
            profile = profile or PhysicalComputerProfile(name=name.strip(), host_group=group)
            profile.image = library_image
            profile.domain = domain.strip()
            profile.domain_join_run_as = account
            if host_group:
                profile.host_group = group
            if description:
                profile.description = description
            try:
                profile.full_clean()
            except ValidationError as error:
                problems = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in error.message_dict.items())
                raise CommandError(f"Profile {name!r} not saved: {problems}") from None
            profile.save()
            record(None, AuditAction.CREATE if created else AuditAction.CHANGE, profile,
                   detail=f"image {library_image.name}" + (f"; joins {profile.domain}" if profile.domain else ""))
        self.stdout.write(f"Profile {profile.name!r} {'created' if created else 'updated'}: image "
                          f"{library_image.name}" + (f", joins {profile.domain}" if profile.domain else "") + ".")
