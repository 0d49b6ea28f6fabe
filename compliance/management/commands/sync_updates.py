from django.core.management.base import BaseCommand, CommandError

from compliance.management.commands._common import finish, follow
from compliance.models import UpdateServer
from compliance.orchestration import submit_sync
from core.audit import AuditAction, record


class Command(BaseCommand):
    help = "Synchronize the update catalog from every update server (or the one named) as a job."

    def add_arguments(self, parser):
        parser.add_argument("server", nargs="?", help="update server name (default: all)")
        parser.add_argument("--wait", action="store_true", help="follow the job; exit 0 only if it succeeded")

    def handle(self, *args, server=None, wait=False, **options):
        servers = UpdateServer.objects.all()
        if server:
            servers = servers.filter(name__iexact=server)
        servers = list(servers)
        if not servers:
            raise CommandError(f"No update server named {server!r}." if server else
                               "No update server yet: add one with `manage.py add_update_server`.")
        failed = []
        for item in servers:
            job, created = submit_sync(item)
            record(None, AuditAction.ACTION, item, f"catalog sync {'started' if created else 'already running'}: "
                                                   f"job #{job.pk}")
            self.stdout.write(f"{'Started' if created else 'Already running'}: job #{job.pk} {job.title}")
            if wait:
                job = follow(job, self.stdout.write)
                if job.status != "succeeded":
                    failed.append(job)
                else:
                    self.stdout.write(self.style.SUCCESS(f"Job #{job.pk} succeeded."))
        if failed:
            finish(self, failed[0])
