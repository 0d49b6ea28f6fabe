from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from compliance import baselines as bl
from compliance.management.commands._common import resolve_target
from compliance.models import Baseline
from core.audit import AuditAction, record


class Command(BaseCommand):
    help = "Assign a baseline to a host group (inherited below), a cluster or a host."

    def add_arguments(self, parser):
        parser.add_argument("baseline", help="baseline name")
        parser.add_argument("target", help="cluster, host or host group (cluster:NAME, host:NAME, group:PATH)")
        parser.add_argument("--remove", action="store_true", help="remove the assignment instead")

    def handle(self, *args, baseline, target, remove=False, **options):
        found = Baseline.objects.filter(name__iexact=baseline).first()
        if found is None:
            names = ", ".join(Baseline.objects.values_list("name", flat=True)) or "none yet (run sync_updates)"
            raise CommandError(f"No baseline named {baseline!r}. Baselines: {names}.")
        where = resolve_target(target)
        with transaction.atomic():
            if remove:
                assignment = found.assignments.filter(**bl._assignment_fields(where)).first()
                if assignment is None:
                    raise CommandError(f"{found} is not assigned to {where}.")
                record(None, AuditAction.DELETE, assignment, str(assignment))
                bl.unassign(assignment)
                self.stdout.write(f"Removed {found} from {assignment.target_label}.")
                return
            assignment, created = bl.assign(found, where)
            if created:
                record(None, AuditAction.CREATE, assignment, str(assignment))
        hosts = bl.target_hosts(where).count()
        verb = "Assigned" if created else "Already assigned:"
        self.stdout.write(f"{verb} {found} → {assignment.target_label} ({hosts} host{'s' if hosts != 1 else ''}).")
