from django.core.management.base import BaseCommand, CommandError

from compliance.choices import ComplianceState
from compliance.management.commands._common import finish, follow, resolve_target
from compliance.models import HostCompliance
from compliance.orchestration import NothingToDo, scan_scope, submit_scan
from core.audit import AuditAction, record


class Command(BaseCommand):
    help = "Scan hosts against their baselines as a job: a host, a cluster, a host group, or everything."

    def add_arguments(self, parser):
        parser.add_argument("target", nargs="?", help="cluster, host or host group (default: every host)")
        parser.add_argument("--wait", action="store_true",
                            help="follow the job, then print each host's state; exit 0 only if it succeeded")

    def handle(self, *args, target=None, wait=False, **options):
        where = resolve_target(target) if target else None
        try:
            job, created = submit_scan(where)
        except NothingToDo as nothing:
            raise CommandError(str(nothing)) from None
        if created:
            record(None, AuditAction.ACTION, job, f"scan started: {job.title}")
        self.stdout.write(f"{'Started' if created else 'Already running'}: job #{job.pk} {job.title}")
        if not wait:
            return
        job = follow(job, self.stdout.write)
        hosts, _, _ = scan_scope(where)
        states = dict(HostCompliance.objects.filter(host__in=hosts).values_list("host_id", "state"))
        width = max((len(h.name) for h in hosts), default=10)
        for host in hosts:
            self.stdout.write(f"{host.name:<{width}}  {ComplianceState(states.get(host.pk, 'unknown')).label}")
        finish(self, job)
