from django.core.management.base import BaseCommand, CommandError

from compliance.management.commands._campaign import campaign_command
from compliance.management.commands._common import finish, follow, resolve_target
from compliance.orchestration import (
    UnknownScript,
    node_scripts,
    submit_cluster_remediation,
    submit_host_remediation,
)
from compliance.remediation import RemediationOptions, cluster_dry_run, standalone_problems
from core.audit import AuditAction, record
from fabric.choices import ClusterKind
from fabric.models import Cluster, Host
from fabric.nodeops.workloads.sofs import sofs_dry_run


class Command(BaseCommand):
    help = ("Remediate a cluster node by node (live migration by default), or one host as a standalone "
            "host. Prints the dry-run plan; refuses with the reason when it does not fit.")

    def add_arguments(self, parser):
        parser.add_argument("target", nargs="+",
                            help="cluster or host (cluster:NAME / host:NAME when ambiguous); several clusters "
                                 "make a campaign")
        parser.add_argument("--parallel", type=int, default=None, metavar="N",
                            help="campaign: at most N clusters at once (default 2); file servers go before the "
                                 "Hyper-V clusters whose VMs they hold")
        parser.add_argument("--at", default="", metavar="WHEN",
                            help="campaign: do not start now but at WHEN, a moment ('2026-12-12 02:00') or every "
                                 "month ('second Saturday 02:00'), as a scheduled run")
        parser.add_argument("--time-zone", default="UTC", help="the time zone of --at (default UTC)")
        parser.add_argument("--max-failed-clusters", type=int, default=0, metavar="N",
                            help="campaign: clusters that may fail before no new cluster starts (default 0)")
        parser.add_argument("--save-state", action="store_true", help="save the VMs instead of live-migrating them")
        parser.add_argument("--no-restart", action="store_true", help="do not restart; hosts stay Pending Reboot")
        parser.add_argument("--allow-maintenance", action="store_true",
                            help="go on although some nodes are already in maintenance (paused)")
        parser.add_argument("--max-failed-nodes", type=int, default=0, metavar="N",
                            help="nodes that may fail before the job stops (default 0)")
        parser.add_argument("--retries", type=int, default=3, metavar="N", help="max retries per node (default 3)")
        parser.add_argument("--reboot-timeout", type=float, default=15, metavar="MINUTES",
                            help="how long to wait for a node to come back (default 15)")
        parser.add_argument("--order", default="", help="explicit node order, comma separated")
        parser.add_argument("--no-power-cycle", action="store_true",
                            help="do not power-cycle (through its BMC) a node that hangs after its restart")
        parser.add_argument("--pre-script", default="", metavar="NAME",
                            help="node script from the library to run on each node before it is paused")
        parser.add_argument("--post-script", default="", metavar="NAME",
                            help="node script from the library to run on each node after it is resumed")
        parser.add_argument("--dry-run", action="store_true", help="print the plan and stop")
        parser.add_argument("--wait", action="store_true", help="follow the job; exit 0 only if it succeeded")

    def handle(self, *args, target, **o):
        targets = [resolve_target(t) for t in target]
        if o["retries"] < 0 or o["max_failed_nodes"] < 0 or o["reboot_timeout"] <= 0:
            raise CommandError("--retries and --max-failed-nodes must be ≥ 0 and --reboot-timeout > 0.")
        options = self._options(o)
        try:
            node_scripts(options)
        except UnknownScript as error:
            raise CommandError(str(error)) from error
        if len(targets) > 1 or o["parallel"] is not None or o["at"]:
            return campaign_command(self, targets, options, o)
        where = targets[0]
        if isinstance(where, Cluster) and where.kind == ClusterKind.SOFS and o["save_state"]:
            raise CommandError(f"{where.name} is a Scale-Out File Server: its nodes run no VMs, so --save-state "
                               f"does not apply (its roles and volumes are moved, not saved).")
        self._single(where, options, o)

    def _options(self, o) -> RemediationOptions:
        return RemediationOptions(
            no_restart=o["no_restart"], allow_maintenance=o["allow_maintenance"], save_state=o["save_state"],
            max_retries_per_node=o["retries"], max_failed_nodes=o["max_failed_nodes"],
            reboot_timeout_minutes=o["reboot_timeout"], power_cycle_hung=not o["no_power_cycle"],
            node_order=[n.strip() for n in o["order"].split(",") if n.strip()],
            pre_script=o["pre_script"].strip(), post_script=o["post_script"].strip(),
        )

    def _single(self, where, options, o) -> None:
        if isinstance(where, Cluster):
            problems = self._print_cluster_plan(where, options)
        elif isinstance(where, Host):
            problems = standalone_problems(where)
            self.stdout.write(f"Plan for {where.name} (standalone): save its running VMs, install the missing "
                              f"updates{'' if options.no_restart else ', restart'}, start the VMs, check.")
        else:
            raise CommandError("Remediate a cluster (node by node) or a host, not a host group.")
        if problems:
            raise CommandError("Refused: " + " ".join(problems))
        if o["dry_run"]:
            self.stdout.write("Dry run: nothing was started.")
            return
        if isinstance(where, Cluster):
            job, created = submit_cluster_remediation(where, options)
        else:
            job, created = submit_host_remediation([where], options)
        if created:
            record(None, AuditAction.ACTION, job, f"remediation requested: {job.title} ({options.describe()})")
            self.stdout.write(f"Started: job #{job.pk} {job.title}")
        else:
            self.stdout.write(f"{where} already has an active job: #{job.pk} {job.title}")
        if o["wait"]:
            finish(self, follow(job, self.stdout.write))

    def _print_cluster_plan(self, cluster, options) -> list[str]:
        dry = cluster_dry_run(cluster, options)
        if cluster.kind == ClusterKind.SOFS:
            return self._print_file_server_plan(cluster, dry, options)
        self.stdout.write(f"Plan for {cluster.name} ({options.describe()}):")
        for i, node in enumerate(dry.nodes, 1):
            if node.skipped:
                self.stdout.write(f"  {i}. {node.name}: skipped ({node.action.removeprefix('skip: ')})")
                continue
            evacuation = node.evacuation
            moves = ", ".join(f"{m.vm}→{m.target}" for m in evacuation.migration_order()) if evacuation else ""
            saved = f" save {', '.join(evacuation.saved)}" if evacuation and evacuation.saved else ""
            self.stdout.write(f"  {i}. {node.name}: {moves or 'no VM to move'}{saved}")
        return dry.problems

    def _print_file_server_plan(self, cluster, dry, options) -> list[str]:
        """A file server's nodes run no VMs: the plan is which roles and volumes each hands over."""
        moves, error = sofs_dry_run(cluster, dry.to_remediate) if dry.to_remediate else ({}, "")
        self.stdout.write(f"Plan for file server {cluster.name} (roles and volumes moved before each node is "
                          f"paused; storage resync awaited between nodes; "
                          f"{'no restart' if options.no_restart else 'restart'}):")
        if error:
            self.stdout.write(f"  {error}")
        for i, node in enumerate(dry.nodes, 1):
            if node.skipped:
                self.stdout.write(f"  {i}. {node.name}: skipped ({node.action.removeprefix('skip: ')})")
                continue
            handed = ", ".join(map(str, moves.get(node.name, []))) or "owns no role or volume"
            self.stdout.write(f"  {i}. {node.name}: {handed}")
        return dry.problems
