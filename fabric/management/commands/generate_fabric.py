"""A synthetic fabric for demos and benchmarks: Hyper-V clusters, their VMs, SOFS file servers,
and what an installation that has run for a while holds besides: with --compliance an update
server's catalog and two baselines assigned to every host with the states scans left (compliant,
missing updates, pending reboot, scan errors, never scanned); with --jobs a history of jobs with
their steps.

Everything generated sits under one host group, "Synthetic fabric <prefix>" (the update server,
baselines and jobs carry the prefix), so --replace (and nothing else) removes exactly what an
earlier run made. Rows go in with bulk_create: 10,000 hosts, 250,000 VMs and 100,000 jobs take
minutes, not hours.
"""
import ipaddress
import random
import time
import uuid
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models.deletion import ProtectedError, RestrictedError
from django.utils import timezone

from core.audit import AuditAction, record
from fabric.choices import ClusterKind, HostStatus, NodeState, VMState
from fabric.models import Cluster, FileShare, Host, HostGroup, VirtualMachine
from fabric.models.grouptree import GroupTree
from fabric.models.validators import is_dns_name

GIB = 1024**3
WS2019 = ("Windows Server 2019 Datacenter", "10.0.17763", 17763, 10)
WS2022 = ("Windows Server 2022 Datacenter", "10.0.20348", 20348, 11)
CLUSTERS_PER_SITE = 10
UPDATES_PER_BASELINE = 5
ACTIVE_JOBS = 3  # the newest jobs still run (one cluster each)


class Command(BaseCommand):
    help = "Generate a synthetic fabric: by default 1,000 Hyper-V hosts in clusters and 25,000 VMs."

    def add_arguments(self, parser):
        parser.add_argument("--hosts", type=int, default=1000, help="Hyper-V hosts (default 1000)")
        parser.add_argument("--vms", type=int, default=25000, help="virtual machines (default 25000)")
        parser.add_argument("--cluster-size", type=int, default=16, help="nodes per Hyper-V cluster (default 16)")
        parser.add_argument("--large-cluster", type=int, default=0, metavar="NODES",
                            help="make the first Hyper-V cluster this big (up to 64 nodes; default: no such cluster)")
        parser.add_argument("--jobs", type=int, default=0, help="finished jobs (with their steps) in the history (default 0)")
        parser.add_argument("--compliance", action="store_true",
                            help="also an update server's catalog, two baselines in force on every host and the "
                                 "states scans left (the update server is not a real one: leave it out where "
                                 "catalogs are synchronized)")
        parser.add_argument("--sofs-clusters", type=int, default=2, help="Scale-Out File Server clusters (default 2)")
        parser.add_argument("--sofs-nodes", type=int, default=4, help="nodes per file server (default 4)")
        parser.add_argument("--prefix", default="syn", help="name prefix of everything generated (default syn)")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--replace", action="store_true", help="remove an earlier fabric with this prefix first")

    def handle(self, *args, hosts, vms, cluster_size, large_cluster, jobs, compliance, sofs_clusters, sofs_nodes,
               prefix, seed, replace, **options):
        if hosts < 0 or vms < 0 or sofs_clusters < 0 or jobs < 0:
            raise CommandError("--hosts, --vms, --jobs and --sofs-clusters cannot be negative.")
        if not 1 <= cluster_size <= 64 or not 1 <= sofs_nodes <= 64 or not 0 <= large_cluster <= 64:
            raise CommandError("A failover cluster has 1 to 64 nodes.")
        if large_cluster > hosts:
            raise CommandError(f"--large-cluster {large_cluster} needs at least as many --hosts.")
        if vms and not hosts:
            raise CommandError("VMs need at least one Hyper-V host.")
        if not is_dns_name(prefix) or "." in prefix or len(prefix) > 20:
            raise CommandError("--prefix must be a short DNS label (letters, digits, hyphens).")
        started = time.monotonic()
        group_name = f"Synthetic fabric {prefix}"
        with transaction.atomic():
            existing = HostGroup.objects.filter(name=group_name, parent=HostGroup.root()).first()
            if existing is not None:
                if not replace:
                    raise CommandError(f"'{group_name}' already exists: pass --replace to generate it again.")
                self._remove(existing, prefix)
            generator = Generator(prefix, random.Random(f"{prefix}/{seed}"))
            counts = generator.build(group_name, hosts, vms, cluster_size, sofs_clusters, sofs_nodes, large_cluster)
            if compliance:
                counts.update(generator.compliance())
            if jobs:
                counts.update(generator.jobs(jobs))
            record(None, AuditAction.CREATE, HostGroup.objects.get(name=group_name, parent=HostGroup.root()),
                   f"synthetic fabric generated{' (replacing the earlier one)' if existing else ''}: "
                   f"{counts['hosts']} hosts, {counts['vms']} VMs, {counts.get('jobs', 0)} jobs")
        self.stdout.write(
            f"Generated {counts['clusters']} Hyper-V clusters ({counts['hosts']} hosts), "
            f"{counts['sofs']} file servers ({counts['sofs_nodes']} nodes, {counts['shares']} shares) and "
            f"{counts['vms']} VMs under '{group_name}'"
            + (f"; {counts['baselines']} baselines in force on every host" if "baselines" in counts else "")
            + (f"; {counts['jobs']} jobs with {counts['steps']} steps" if "jobs" in counts else "")
            + f" in {time.monotonic() - started:.1f} s."
        )

    def _remove(self, top: HostGroup, prefix: str) -> None:
        from compliance.models import Baseline, UpdateServer
        from jobs.models import Job, JobLogEntry, JobStep

        group_ids = GroupTree.load().descendant_ids(top.pk)
        # Jobs hold no protecting reference, and a collector would load 100,000 of them with their
        # steps only to delete them: plain DELETEs, children first.
        jobs = Job.objects.filter(params__synthetic=prefix)
        JobLogEntry.objects.filter(job__in=jobs)._raw_delete(JobLogEntry.objects.db)
        JobStep.objects.filter(job__in=jobs, parent__isnull=False)._raw_delete(JobStep.objects.db)
        JobStep.objects.filter(job__in=jobs)._raw_delete(JobStep.objects.db)
        jobs._raw_delete(Job.objects.db)
        Baseline.objects.filter(name__startswith=baseline_prefix(prefix)).delete()
        UpdateServer.objects.filter(name=update_server_name(prefix)).delete()
        try:
            VirtualMachine.objects.filter(host__host_group_id__in=group_ids).delete()
            VirtualMachine.objects.filter(cluster__host_group_id__in=group_ids).delete()
            Host.objects.filter(host_group_id__in=group_ids).delete()
            Cluster.objects.filter(host_group_id__in=group_ids).delete()
            # Children before parents (the parent link protects).
            for pk in reversed(group_ids):
                HostGroup.objects.filter(pk=pk).delete()
        except (ProtectedError, RestrictedError) as exc:
            raise CommandError(f"Cannot remove the earlier synthetic fabric: {exc.args[0]}") from exc


class Generator:
    def __init__(self, prefix: str, rng: random.Random):
        self.prefix = prefix
        self.rng = rng
        self.now = timezone.now()
        self.next_address = int(ipaddress.ip_address("10.64.0.10"))

    def address(self) -> str:
        self.next_address += 1
        return str(ipaddress.ip_address(self.next_address))

    def build(self, group_name, hosts, vms, cluster_size, sofs_clusters, sofs_nodes, large_cluster=0) -> dict:
        top = HostGroup.objects.create(name=group_name, parent=HostGroup.root(), description="Made by generate_fabric")
        self.top = top
        # the node count of each Hyper-V cluster: the large one first, then full clusters and the rest
        sizes = [large_cluster] if large_cluster else []
        rest = hosts - large_cluster
        sizes += [cluster_size] * (rest // cluster_size) + ([rest % cluster_size] if rest % cluster_size else [])
        cluster_count = len(sizes)
        sites = [
            HostGroup(name=f"Site {n + 1}", parent=top)
            for n in range(max(1, -(-cluster_count // CLUSTERS_PER_SITE)))
        ]
        HostGroup.objects.bulk_create(sites)
        storage = HostGroup.objects.create(name="Storage", parent=top) if sofs_clusters else None

        clusters = []
        for c in range(cluster_count):
            mixed = c % 5 == 4
            os = WS2019 if c % 3 else WS2022
            clusters.append(Cluster(
                name=f"{self.prefix}-c{c + 1:03d}", fqdn=f"{self.prefix}-c{c + 1:03d}.ferry.example",
                kind=ClusterKind.HYPERV, host_group=sites[c // CLUSTERS_PER_SITE], address=self.address(),
                functional_level=WS2019[3] if mixed else os[3], upgrade_version=WS2019[3] if mixed else os[3],
                mixed_mode_since=self.now - timedelta(days=self.rng.randint(1, 20)) if mixed else None,
            ))
        for s in range(sofs_clusters):
            clusters.append(Cluster(
                name=f"{self.prefix}-sofs{s + 1:02d}", fqdn=f"{self.prefix}-sofs{s + 1:02d}.ferry.example",
                kind=ClusterKind.SOFS, host_group=storage, address=self.address(),
                functional_level=WS2022[3], upgrade_version=WS2022[3],
            ))
        Cluster.objects.bulk_create(clusters)

        nodes = []
        for cluster, size in zip(clusters, sizes):
            for position in range(size):
                if cluster.mixed_mode_since and position < size // 2:
                    os = WS2022
                else:
                    os = WS2022 if cluster.functional_level == WS2022[3] else WS2019
                nodes.append(self.host(f"{cluster.name}-n{position + 1:02d}", cluster, os))
        for s, cluster in enumerate(clusters[cluster_count:]):
            nodes.extend(self.host(f"{cluster.name}-n{n + 1}", cluster, WS2022, memory_gib=256) for n in range(sofs_nodes))
        Host.objects.bulk_create(nodes, batch_size=500)

        shares = [
            FileShare(cluster=cluster, name=f"vmstore{n + 1}", scope_name=f"{cluster.name}-fs",
                      path=f"C:\\ClusterStorage\\Volume{n + 1}\\Shares\\vmstore{n + 1}")
            for cluster in clusters[cluster_count:] for n in range(4)
        ]
        FileShare.objects.bulk_create(shares)

        hyperv_hosts = nodes[:hosts]
        self.clusters, self.hosts = clusters, nodes
        machines = []
        for v in range(vms):
            host = hyperv_hosts[v % len(hyperv_hosts)]
            running = host.node_state == NodeState.UP and self.rng.random() < 0.9
            machines.append(VirtualMachine(
                name=f"{self.prefix}-vm-{v + 1:05d}", vm_id=uuid.UUID(int=self.rng.getrandbits(128), version=4),
                host=host, cluster=host.cluster, state=VMState.RUNNING if running else VMState.OFF,
                memory_bytes=self.rng.choice((2, 4, 8, 16, 32)) * GIB, cpu_count=self.rng.choice((1, 2, 4, 8)),
                highly_available=self.rng.random() < 0.95,
            ))
            if len(machines) >= 2000:
                VirtualMachine.objects.bulk_create(machines)
                machines = []
        VirtualMachine.objects.bulk_create(machines)
        return {
            "clusters": cluster_count, "hosts": hosts, "sofs": sofs_clusters, "sofs_nodes": sofs_clusters * sofs_nodes,
            "shares": len(shares), "vms": vms,
        }

    def host(self, name, cluster, os, memory_gib=512) -> Host:
        roll = self.rng.random()
        if roll < 0.01:
            status, node_state = HostStatus.NOT_RESPONDING, NodeState.DOWN
        elif roll < 0.02:
            status, node_state = HostStatus.IN_MAINTENANCE, NodeState.PAUSED
        elif roll < 0.05:
            status, node_state = HostStatus.PENDING_REBOOT, NodeState.UP
        else:
            status, node_state = HostStatus.RESPONDING, NodeState.UP
        mac = self.rng.getrandbits(24)
        return Host(
            name=name, fqdn=f"{name}.ferry.example", host_group=cluster.host_group, cluster=cluster,
            address=self.address(), os_name=os[0], os_version=os[1], os_build=os[2], status=status,
            node_state=node_state, memory_bytes=memory_gib * GIB, cpu_count=64,
            management_mac="00-15-5D-" + "-".join(f"{(mac >> s) & 0xFF:02X}" for s in (16, 8, 0)),
            bmc_address=str(ipaddress.ip_address(self.next_address + 0x10000)), last_refreshed=self.now,
        )

    # ── compliance: an update server's catalog, two baselines, the states scans left ──────────

    def compliance(self) -> dict:
        from compliance.choices import STATE_SEVERITY, ComplianceState, UpdateClassification, UpdateState, worst_state
        from compliance.evaluation import baseline_state
        from compliance.models import (
            Baseline,
            BaselineAssignment,
            BaselineCompliance,
            BaselineUpdate,
            HostCompliance,
            Update,
            UpdateServer,
            UpdateStatus,
        )

        server = UpdateServer.objects.create(name=update_server_name(self.prefix), address=self.address(),
                                             last_synced=self.now)
        updates = []
        for n in range(UPDATES_PER_BASELINE * 2):
            classification = UpdateClassification.SECURITY if n % 2 == 0 else UpdateClassification.CRITICAL
            updates.append(Update(
                server=server, update_id=str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
                kb=str(5040000 + n), title=f"{self.now:%Y-%m} Cumulative Update for Windows Server (KB{5040000 + n})",
                classification=classification, severity="Critical" if n % 4 == 0 else "Important",
                release_date=(self.now - timedelta(days=7 * n)).date(), approved=True,
            ))
        Update.objects.bulk_create(updates)
        security = Baseline.objects.create(name=f"{baseline_prefix(self.prefix)} security updates",
                                           description="Made by generate_fabric")
        critical = Baseline.objects.create(name=f"{baseline_prefix(self.prefix)} critical updates",
                                           description="Made by generate_fabric")
        content = {security.pk: updates[0::2], critical.pk: updates[1::2]}
        BaselineUpdate.objects.bulk_create(
            [BaselineUpdate(baseline_id=b, update=u) for b, entries in content.items() for u in entries]
        )

        # security on the whole fabric (one group); critical on every other site, on the first
        # cluster by itself, and on a few hosts one by one: the three kinds of assignment
        hyperv = [c for c in self.clusters if c.kind == ClusterKind.HYPERV]
        odd_sites = {c.host_group_id for c in hyperv if (c.host_group.name.split()[-1]).isdigit()
                     and int(c.host_group.name.split()[-1]) % 2 == 1}
        single_hosts = {h.pk for i, h in enumerate(self.hosts) if i % 97 == 5}
        assignments = [BaselineAssignment(baseline=security, host_group=self.top)]
        assignments += [BaselineAssignment(baseline=critical, host_group_id=g) for g in sorted(odd_sites)]
        if hyperv:
            assignments.append(BaselineAssignment(baseline=critical, cluster=hyperv[0]))
        assignments += [BaselineAssignment(baseline=critical, host_id=pk) for pk in sorted(single_hosts)]
        BaselineAssignment.objects.bulk_create(assignments)

        per_baseline, per_host, statuses = [], [], []
        counts = {state: 0 for state in STATE_SEVERITY}
        for host in self.hosts:
            in_force = [security.pk]
            if host.host_group_id in odd_sites or (hyperv and host.cluster_id == hyperv[0].pk) or host.pk in single_hosts:
                in_force.append(critical.pk)
            roll = self.rng.random()
            if roll < 0.08:  # assigned since the last scan: never scanned
                per_host.append(HostCompliance(host=host, state=ComplianceState.UNKNOWN, baselines_in_force=len(in_force)))
                counts[ComplianceState.UNKNOWN] += 1
                continue
            # 54 % compliant, 26 % missing updates, 8 % waiting for a restart, 4 % whose last scan failed
            missing_share = 0.5 if 0.62 <= roll < 0.84 or 0.92 <= roll else 0.0
            pending = 0.84 <= roll < 0.92
            scanned = self.now - timedelta(hours=self.rng.randint(1, 72))
            host_states, missing_total = [], 0
            for baseline_id in in_force:
                states = []
                for update in content[baseline_id]:
                    if self.rng.random() < 0.1:
                        state = UpdateState.NOT_APPLICABLE
                    elif missing_share and self.rng.random() < missing_share:
                        state = UpdateState.MISSING
                    else:
                        state = UpdateState.INSTALLED
                    states.append(state)
                    statuses.append(UpdateStatus(host=host, baseline_id=baseline_id, update=update, state=state,
                                                 checked=scanned))
                if pending and not missing_share and states:
                    states[0] = statuses[-len(states)].state = UpdateState.PENDING_REBOOT
                missing = states.count(UpdateState.MISSING)
                missing_total += missing
                state = baseline_state(states)
                host_states.append(state)
                per_baseline.append(BaselineCompliance(host=host, baseline_id=baseline_id, state=state,
                                                       baseline_revision=1, missing_count=missing, last_scan=scanned))
            state = worst_state(host_states)
            error = ""
            if 0.96 <= roll:  # the last scan failed; what the one before found stays
                state, error = ComplianceState.ERROR, f"WinRM: {host.fqdn}:5986 did not answer within 120 s"
            per_host.append(HostCompliance(host=host, state=state, missing_count=missing_total,
                                           pending_reboot=pending and not missing_share, last_scan=scanned, error=error,
                                           baselines_in_force=len(in_force)))
            counts[state] += 1
            if len(statuses) >= 5000:
                UpdateStatus.objects.bulk_create(statuses)
                statuses = []
        UpdateStatus.objects.bulk_create(statuses)
        BaselineCompliance.objects.bulk_create(per_baseline, batch_size=2000)
        HostCompliance.objects.bulk_create(per_host, batch_size=2000)
        return {"baselines": 2, "compliance": {ComplianceState(s).label: n for s, n in counts.items()}}

    # ── jobs: a history of refreshes, scans and remediations, the newest few still running ────

    def jobs(self, total: int) -> dict:
        from django.contrib.contenttypes.models import ContentType

        from jobs.choices import JobStatus, StepStatus
        from jobs.models import Job, JobStep

        host_type, cluster_type = ContentType.objects.get_for_model(Host), ContentType.objects.get_for_model(Cluster)
        nodes: dict[int, list[Host]] = {}
        for host in self.hosts:
            nodes.setdefault(host.cluster_id, []).append(host)
        clusters = [c for c in self.clusters if nodes.get(c.pk)]
        if not clusters:
            raise CommandError("--jobs needs at least one host.")
        active = set(range(max(0, total - min(ACTIVE_JOBS, len(clusters))), total))
        span = timedelta(days=365)
        steps_made = 0
        for first in range(0, total, 2000):
            jobs, plans = [], []
            for n in range(first, min(first + 2000, total)):
                created = self.now - span + span * (n + 1) / (total + 1)
                if n in active:  # a scan of one cluster each, so no two active jobs share a cluster
                    cluster = clusters[(n - min(active)) * 7 % len(clusters)]
                    kind, plan = "compliance_scan", self._scan_plan(nodes[cluster.pk])
                    title, target, lock = f"Scan cluster {cluster.name}", cluster, f"cluster:{cluster.pk}"
                else:
                    kind, title, target, lock, plan = self._history_job(clusters, nodes)
                if n in active:
                    status = JobStatus.RUNNING
                else:
                    roll = self.rng.random()
                    status = JobStatus.SUCCEEDED if roll < 0.93 else JobStatus.FAILED if roll < 0.98 else JobStatus.CANCELLED
                duration = timedelta(seconds=self.rng.randint(20, 60) * max(1, len(plan)))
                jobs.append(Job(
                    kind=kind, title=title[:200], target_label=target.name,
                    target_type=host_type if isinstance(target, Host) else cluster_type, target_id=str(target.pk),
                    lock_key=lock, params={"synthetic": self.prefix}, status=status,
                    progress=100 if status == JobStatus.SUCCEEDED else self.rng.randint(5, 95),
                    error="A step failed: see its message." if status == JobStatus.FAILED else "",
                    created=created, started=created, changed_at=created + duration,
                    finished=None if status == JobStatus.RUNNING else created + duration,
                    seq=2 * len(plan) + 2, plan_seq=1,
                ))
                plans.append(plan)
            Job.objects.bulk_create(jobs)
            groups, leaves = [], []
            for job, plan in zip(jobs, plans):
                statuses = self._step_statuses(job.status, sum(1 for p in plan if p[0] != "group"))
                order, lane = 0, None
                for name, title, target, params in plan:
                    order += 1
                    if name == "group":
                        lane = JobStep(job=job, is_group=True, order=order, title=title, target=target,
                                       status=StepStatus.SUCCEEDED, changed_seq=order)
                        groups.append(lane)
                        continue
                    status = statuses.pop(0)
                    finished = job.finished if status not in (StepStatus.PENDING, StepStatus.RUNNING) else None
                    leaves.append(JobStep(
                        job=job, parent=lane if params.get("in_lane") else None, order=order, name=name,
                        title=title, target=target, params={k: v for k, v in params.items() if k != "in_lane"},
                        status=status, progress=100 if status == StepStatus.SUCCEEDED else 0,
                        message="Failed: the host did not answer" if status == StepStatus.FAILED else "",
                        attempts=0 if status == StepStatus.PENDING else 1,
                        started=None if status == StepStatus.PENDING else job.started, finished=finished,
                        changed_seq=order, parallel_group="scan" if name == "compliance.scan_host" and len(plan) > 1 else "",
                        max_parallel=32 if name == "compliance.scan_host" and len(plan) > 1 else 1,
                    ))
            JobStep.objects.bulk_create(groups, batch_size=2000)
            JobStep.objects.bulk_create(leaves, batch_size=2000)
            steps_made += len(groups) + len(leaves)
        return {"jobs": total, "steps": steps_made}

    def _history_job(self, clusters, nodes):
        roll = self.rng.random()
        cluster = self.rng.choice(clusters)
        host = self.rng.choice(nodes[cluster.pk])
        if roll < 0.35:
            return ("refresh", f"Refresh {host.name}", host, f"host:{host.pk}",
                    [("fabric.refresh_host", f"Refresh {host.name}", host.name, {"host_id": host.pk})])
        if roll < 0.50:
            return ("refresh", f"Refresh {cluster.name}", cluster, f"cluster:{cluster.pk}",
                    [("fabric.refresh_cluster", f"Refresh {cluster.name}", cluster.name, {"cluster_id": cluster.pk})])
        if roll < 0.80:
            return ("compliance_scan", f"Scan host {host.name}", host, f"scan:host:{host.pk}",
                    self._scan_plan([host]))
        if roll < 0.95:
            return ("compliance_scan", f"Scan cluster {cluster.name}", cluster, f"scan:cluster:{cluster.pk}",
                    self._scan_plan(nodes[cluster.pk]))
        name = host.name
        lane = {"host_id": host.pk, "standalone": True, "in_lane": True}
        return ("remediation", f"Remediate {name}", host, f"cluster:{cluster.pk}", [
            ("compliance.precheck", "Scan the hosts", name, {"host_ids": [host.pk]}),
            ("group", name, name, {}),
            ("compliance.check_node", f"Check {name}", name, lane),
            ("compliance.save_vms_and_pause", f"Save the running VMs of {name} and pause it", name, lane),
            ("compliance.install_updates", f"Install the missing updates on {name}", name, lane),
            ("compliance.restart_node", f"Restart {name} and wait until it is back", name, lane),
            ("compliance.resume_node", f"Resume {name}", name, lane),
            ("compliance.start_saved_vms", f"Start the saved VMs of {name}", name, lane),
            ("compliance.verify_node", f"Check {name} against its baselines", name, lane),
            ("compliance.finish_remediation", "Summarize", name, {"host_ids": [host.pk]}),
        ])

    @staticmethod
    def _scan_plan(hosts):
        return [("compliance.scan_host", f"Scan {h.name}", h.name, {"host_id": h.pk}) for h in hosts]

    def _step_statuses(self, job_status, count) -> list:
        from jobs.choices import JobStatus, StepStatus

        if job_status == JobStatus.SUCCEEDED:
            return [StepStatus.SUCCEEDED] * count
        stop = self.rng.randint(0, count - 1)
        at_stop = {JobStatus.FAILED: StepStatus.FAILED, JobStatus.CANCELLED: StepStatus.CANCELLED,
                   JobStatus.RUNNING: StepStatus.RUNNING}[job_status]
        return [StepStatus.SUCCEEDED] * stop + [at_stop] + [StepStatus.PENDING] * (count - stop - 1)


def baseline_prefix(prefix: str) -> str:
    return f"Synthetic {prefix}:"


def update_server_name(prefix: str) -> str:
    return f"{prefix}-wsus"
