"""`manage.py update_version CLUSTER [--wait]`: refresh the cluster's record (node builds, functional
level), then raise the functional level of a cluster whose nodes all run a newer release
(Update-ClusterFunctionalLevel, -WhatIf first), as a job. Hyper-V clusters and Scale-Out File Servers."""
from django.core.management.base import BaseCommand, CommandError

from compliance.management.commands._common import finish, follow
from core.audit import AuditAction, record
from fabric.choices import ClusterKind
from fabric.models import Cluster
from upgrades.orchestration import UpgradeRefused, node_builds, refresh_for_update_version, submit_update_version


class Command(BaseCommand):
    help = ("Raise the cluster functional level once every node runs a newer Windows Server release "
            "(-WhatIf first, then the real call, then a refresh). Cannot be undone.")

    def add_arguments(self, parser):
        parser.add_argument("cluster", help="the Hyper-V cluster's or the Scale-Out File Server's name")
        parser.add_argument("--wait", action="store_true", help="follow the job; exit 0 only if it succeeded")

    def handle(self, *args, cluster, wait, **options):
        found = Cluster.objects.filter(name__iexact=cluster.strip(),
                                       kind__in=(ClusterKind.HYPERV, ClusterKind.SOFS)).first()
        if found is None:
            raise CommandError(f"No Hyper-V cluster or Scale-Out File Server is named {cluster!r}.")
        for problem in refresh_for_update_version(found):
            self.stderr.write(f"Refreshing {found.name}: {problem}")
        record(None, AuditAction.ACTION, found, f"refreshed for Update Version: functional level "
                                                f"{found.functional_level}, builds {', '.join(node_builds(found))}")
        self.stdout.write(f"{found.name}: functional level {found.functional_level}; {', '.join(node_builds(found))}")
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
