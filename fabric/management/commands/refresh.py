"""`manage.py refresh [NAME]`: re-read a cluster or host (or everything) from the machines."""
from django.core.management.base import BaseCommand, CommandError

from core.audit import AuditAction, record
from fabric.inventory import refresh_all, refresh_cluster, refresh_host
from fabric.models import Cluster, Host


class Command(BaseCommand):
    help = ("Refresh the inventory from the machines: node states, host status, VMs and owners, OS, functional "
            "level. NAME is a cluster or a host; without it, everything. Exits non-zero when a machine did not "
            "answer (it is then marked Not Responding, never removed). --schedule N installs a refresh of "
            "everything every N minutes on the task queue.")

    def add_arguments(self, parser):
        parser.add_argument("name", nargs="?")
        parser.add_argument("--schedule", type=int, metavar="MINUTES",
                            help="install (or change) the periodic refresh instead; 0 removes it")

    def handle(self, *args, name=None, schedule=None, **options):
        if schedule is not None:
            from fabric.tasks import REFRESH_SCHEDULE_NAME, ensure_refresh_schedule

            if schedule < 0:
                raise CommandError("--schedule takes a number of minutes (0 removes the schedule).")
            ensure_refresh_schedule(schedule)
            record(None, AuditAction.CHANGE, None, "periodic refresh removed" if schedule == 0
                   else f"periodic refresh every {schedule} minutes", object_type="schedule",
                   object_repr=REFRESH_SCHEDULE_NAME)
            self.stdout.write("Periodic refresh removed." if schedule == 0
                              else f"The fabric is refreshed every {schedule} minutes.")
            return
        if name:
            cluster = Cluster.objects.filter(name__iexact=name).first()
            host = None if cluster else Host.objects.filter(name__iexact=name).first()
            if cluster is None and host is None:
                raise CommandError(f"No cluster or host is named {name!r}.")
            record(None, AuditAction.ACTION, cluster or host, "refresh from the command line")
            found = refresh_cluster(cluster) if cluster else refresh_host(host)
            problems = {name: found} if found else {}
            refreshed = 1
        else:
            refreshed = Cluster.objects.count() + Host.objects.filter(cluster__isnull=True).count()
            record(None, AuditAction.ACTION, None, "refresh from the command line", object_type="fabric",
                   object_repr=f"all {refreshed} clusters and standalone hosts")
            problems = refresh_all()
        for target, found in problems.items():
            for problem in found:
                self.stderr.write(self.style.WARNING(problem))
        if problems:
            raise CommandError(f"{len(problems)} of {refreshed} refreshed did not fully answer (see above).")
        self.stdout.write(f"Refreshed {refreshed} {'target' if refreshed == 1 else 'targets'}.")
