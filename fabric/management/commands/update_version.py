"""`manage.py update_version CLUSTER [--wait]`: raise the functional level of a cluster whose nodes
all run a newer release (Update-ClusterFunctionalLevel, -WhatIf first), as a job."""
from django.core.management.base import BaseCommand, CommandError

from compliance.management.commands._common import finish, follow
from core.audit import AuditAction, record
from fabric.choices import ClusterKind
from fabric.models import Cluster
from upgrades.orchestration import UpgradeRefused, submit_update_version


class Command(BaseCommand):
    help = ("Raise the cluster functional level once every node runs a newer Windows Server release "
            "(-WhatIf first, then the real call, then a refresh). Cannot be undone.")

    def add_arguments(self, parser):
        parser.add_argument("cluster", help="the Hyper-V cluster's name")
        parser.add_argument("--wait", action="store_true", help="follow the job; exit 0 only if it succeeded")

    def handle(self, *args, cluster, wait, **options):
        found = Cluster.objects.filter(name__iexact=cluster.strip(), kind=ClusterKind.HYPERV).first()
        if found is None:
            raise CommandError(f"No Hyper-V cluster is named {cluster!r}.")
        try:
            job, created = submit_update_version(found)
        except UpgradeRefused as refusal:
            raise CommandError(f"Refused: {refusal}") from None
        if created:
            record(None, AuditAction.ACTION, job, f"update version requested: {found.name} from functional level "
                                                  f"{job.params['from_level']} to {job.params['to_level']}")
            self.stdout.write(f"Started: job #{job.pk} {job.title}")
        else:
            self.stdout.write(f"{found.name} already has an active job: #{job.pk} {job.title}")
        if wait:
            finish(self, follow(job, self.stdout.write))
