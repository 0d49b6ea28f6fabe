"""`manage.py upgrade_cluster CLUSTER --profile P --bmc-run-as R [--image I] [--nodes A,B]
[--node-settings FILE] [--no-functional-level] [--pre-script NAME] [--post-script NAME] [--dry-run]
[--wait]`: a rolling upgrade as a job. With several clusters (or `--parallel N`): an upgrade campaign,
see `_upgrade_campaign`.
(`--settings` is Django's own option on every command — the settings module — so the file of node
settings has a name of its own.)

FILE is JSON keyed by node name; each node may give bmc_address, bmc_port, new_name,
skip_ad_check, management_mac, logical_network, subnet (names) and ip (an address or "pool").
What a node still misses after Ferry's own records and the file is an error naming the node and
the key.
"""
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from compliance.management.commands._common import finish, follow
from core.audit import AuditAction, record
from fabric.choices import ClusterKind
from fabric.management.commands._upgrade_campaign import upgrade_campaign_command
from fabric.models import Cluster, LibraryImage, LogicalNetwork, PhysicalComputerProfile, RunAsAccount, Subnet
from nodescripts.models import UnknownScript, copy_for_job
from upgrades.orchestration import (
    UpgradeRefused,
    default_node_settings,
    plan_upgrade,
    submit_upgrade,
)
from upgrades.request import POOL, UpgradeRequest
from upgrades.rolling import settings_missing

KEYS = {"bmc_address", "bmc_port", "new_name", "skip_ad_check", "management_mac", "logical_network", "subnet", "ip"}


def _named(model, name: str, what: str):
    found = model.objects.filter(name__iexact=str(name).strip()).first()
    if found is None:
        raise CommandError(f"No {what} is named {name!r}.")
    return found


def _read_settings(path: str) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise CommandError(f"Cannot read the settings file {path}: {error.strerror}.") from None
    except json.JSONDecodeError as error:
        raise CommandError(f"The settings file {path} is not JSON: {error}.") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise CommandError(f"The settings file {path} must be a JSON object keyed by node name, each an object.")
    return data


def _apply(settings, name: str, given: dict) -> None:
    unknown = sorted(set(given) - KEYS)
    if unknown:
        raise CommandError(f"{name}: unknown setting(s) {', '.join(unknown)} (known: {', '.join(sorted(KEYS))}).")
    for key in ("bmc_address", "new_name", "management_mac", "ip"):
        if key in given:
            setattr(settings, key, str(given[key]).strip())
    if "bmc_port" in given:
        port = given["bmc_port"]
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise CommandError(f"{name}: bmc_port must be a port number (1-65535), not {port!r}.")
        settings.bmc_port = port
    if "skip_ad_check" in given:
        if not isinstance(given["skip_ad_check"], bool):
            raise CommandError(f"{name}: skip_ad_check must be true or false.")
        settings.skip_ad_check = given["skip_ad_check"]
    if "logical_network" in given:
        settings.logical_network_id = _named(LogicalNetwork, given["logical_network"], f"{name}: logical network").pk
    if "subnet" in given:
        subnet = _named(Subnet, given["subnet"], f"{name}: subnet")
        settings.subnet_id, settings.logical_network_id = subnet.pk, subnet.logical_network_id


def _check(settings, name: str) -> None:
    """Bad values named with their node and key (the job would refuse them later, less clearly)."""
    import ipaddress

    from django.core.exceptions import ValidationError

    from fabric.models.validators import normalize_mac, validate_mac_address

    try:
        if settings.bmc_address:
            ipaddress.ip_address(settings.bmc_address)
    except ValueError:
        raise CommandError(f"{name}: bmc_address {settings.bmc_address!r} is not an IP address.") from None
    if settings.management_mac:
        try:
            validate_mac_address(settings.management_mac)
        except ValidationError:
            raise CommandError(f"{name}: management_mac {settings.management_mac!r} is not a MAC address.") from None
        settings.management_mac = normalize_mac(settings.management_mac)
    if settings.ip and settings.ip != POOL:
        subnet = Subnet.objects.filter(pk=settings.subnet_id).first()
        try:
            address = ipaddress.ip_address(settings.ip)
        except ValueError:
            raise CommandError(f"{name}: ip {settings.ip!r} is not an address or \"pool\".") from None
        if subnet is not None and address not in subnet.network:
            raise CommandError(f"{name}: ip {settings.ip} is not inside the subnet {subnet.name} ({subnet.cidr}).")


def build_request(cluster: str, profile: str, bmc_run_as: str, image: str, wanted: list[str], given: dict,
                  *, functional_level: bool = True, pre_script: str = "",
                  post_script: str = "") -> tuple[Cluster, UpgradeRequest]:
    """The request from names, as the command and the API take them: (cluster, request).
    `wanted` empty: every node. `given`: the settings file's content, keyed by node name."""
    found = Cluster.objects.filter(
        name__iexact=cluster.strip(), kind__in=(ClusterKind.HYPERV, ClusterKind.SOFS)
    ).first()
    if found is None:
        raise CommandError(f"No Hyper-V cluster or Scale-Out File Server is named {cluster!r}.")
    chosen_profile = _named(PhysicalComputerProfile, profile, "physical computer profile")
    bmc = _named(RunAsAccount, bmc_run_as, "Run As account")
    chosen_image = _named(LibraryImage, image, "library image") if image else None
    defaults = {s.host_id: s for s in default_node_settings(found, chosen_profile)}
    names = {h.name.lower(): h for h in found.nodes.all()}
    wanted = wanted or [h.name for h in found.nodes.order_by("name")]
    for name in wanted:
        if name.lower() not in names:
            raise CommandError(f"{name} is not a node of {found.name}.")
    for name in given:
        if name.lower() not in names:
            raise CommandError(f"The settings file names {name}, which is not a node of {found.name}.")
    given = {k.lower(): v for k, v in given.items()}
    request_nodes = []
    for name in wanted:
        host = names[name.lower()]
        node = defaults[host.pk]
        _apply(node, host.name, given.get(host.name.lower(), {}))
        _check(node, host.name)
        missing = settings_missing(node)
        if missing:
            raise CommandError(f"{host.name}: missing {', '.join(missing)} (Ferry could not work "
                               f"{'it' if len(missing) == 1 else 'them'} out; give "
                               f"{'it' if len(missing) == 1 else 'them'} in --node-settings).")
        request_nodes.append(node)
    for option, name in (("--pre-script", pre_script), ("--post-script", post_script)):
        try:
            copy_for_job(name)
        except UnknownScript as error:
            raise CommandError(f"{option}: {error}") from None
    request = UpgradeRequest(cluster_id=found.pk, profile_id=chosen_profile.pk, bmc_run_as_id=bmc.pk,
                             image_id=chosen_image.pk if chosen_image else None, nodes=request_nodes,
                             functional_level=functional_level, pre_script=pre_script, post_script=post_script)
    return found, request


class Command(BaseCommand):
    help = ("Upgrade a Hyper-V cluster or a Scale-Out File Server to a newer Windows Server release one node at "
            "a time: each node is drained (VMs live-migrated; a file server's roles and CSVs moved, after storage "
            "is healthy again), evicted, re-imaged through its BMC and the deployment server, configured and added "
            "back, with every VM running and every share available throughout; then the functional level rises "
            "(unless --no-functional-level).")

    def add_arguments(self, parser):
        parser.add_argument("clusters", nargs="+", metavar="cluster",
                            help="the Hyper-V cluster's or the Scale-Out File Server's name; several make a campaign")
        parser.add_argument("--profile", required=True,
                            help="the physical computer profile (in a campaign: of every cluster, unless "
                                 "--file-server-profile names one for the file servers)")
        parser.add_argument("--file-server-profile", default="", metavar="PROFILE",
                            help="campaign: the profile of the Scale-Out File Servers (default: --profile)")
        parser.add_argument("--parallel", type=int, default=None, metavar="N",
                            help="campaign: at most N clusters at once (default 2); file servers go before the "
                                 "Hyper-V clusters whose VMs they hold")
        parser.add_argument("--max-failed", type=int, default=0, metavar="N",
                            help="campaign: clusters that may fail before no new cluster starts (default 0)")
        parser.add_argument("--bmc-run-as", required=True, help="the Run As account with BMC rights")
        parser.add_argument("--image", default="", help="a library image instead of the profile's")
        parser.add_argument("--nodes", default="", help="comma-separated node names (default: every node)")
        parser.add_argument("--node-settings", default="", metavar="FILE",
                            help="JSON settings per node, keyed by node name (see the command's doc)")
        parser.add_argument("--no-functional-level", action="store_true",
                            help="leave the functional level as it is after the last node")
        parser.add_argument("--pre-script", default="", metavar="NAME",
                            help="node script from the library to run on each node before it is evacuated")
        parser.add_argument("--post-script", default="", metavar="NAME",
                            help="node script from the library to run on each node once it has joined again and "
                                 "been resumed")
        parser.add_argument("--dry-run", action="store_true", help="print the plan and the prerequisites only")
        parser.add_argument("--wait", action="store_true", help="follow the job; exit 0 only if it succeeded")

    def handle(self, *args, clusters, **o):
        if len(clusters) > 1 or o["parallel"] is not None or o["file_server_profile"]:
            return upgrade_campaign_command(self, clusters, o)
        if o["max_failed"]:
            raise CommandError("--max-failed counts failed clusters of a campaign: name several clusters.")
        self._single(clusters[0], **o)

    def _single(self, cluster, *, profile, bmc_run_as, image, nodes, node_settings, no_functional_level,
                pre_script, post_script, dry_run, wait, **options):
        given = _read_settings(node_settings) if node_settings else {}
        wanted = [n.strip() for n in nodes.split(",") if n.strip()] if nodes else []
        found, request = build_request(cluster, profile, bmc_run_as, image, wanted, given,
                                       functional_level=not no_functional_level, pre_script=pre_script.strip(),
                                       post_script=post_script.strip())
        names = {h.name.lower(): h for h in found.nodes.all()}
        wanted = wanted or [h.name for h in found.nodes.order_by("name")]
        if dry_run:
            plan = plan_upgrade(request)
            self.print_plan(plan)
            if not plan.ok:
                raise CommandError("The upgrade would be refused: see the prerequisites above.")
            return
        try:
            job, created = submit_upgrade(request)
        except UpgradeRefused as refusal:
            raise CommandError(f"Refused: {refusal}") from None
        if created:
            scripts = "".join(f", {what} {name}" for what, name in (("pre-script", request.pre_script),
                                                                    ("post-script", request.post_script)) if name)
            record(None, AuditAction.ACTION, job, f"rolling upgrade requested: {found.name} to "
                                                  f"build {job.params['target_build']}, nodes "
                                                  f"{', '.join(names[n.lower()].name for n in wanted)}{scripts}")
            self.stdout.write(f"Started: job #{job.pk} {job.title}")
        else:
            self.stdout.write(f"{found.name} already has an active job: #{job.pk} {job.title}")
        if wait:
            finish(self, follow(job, self.stdout.write))

    def print_plan(self, plan) -> None:
        write = self.stdout.write
        write(f"Upgrade {plan.cluster} to {plan.target}")
        if plan.maintenance_window:
            write(plan.maintenance_window)
        for verdict in plan.verdicts:
            write(f"  [{'ok' if verdict.ok else 'REFUSED'}] {verdict.name}: {verdict.message}")
        for node in plan.nodes:
            write(f"{node.name}:")
            for title in node.steps:
                write(f"  - {title}")
            for vm, target in node.moves:
                write(f"    {vm} → {target}")
        if plan.functional_level:
            write(f"Then: {plan.functional_level}")
        if plan.point_of_no_return:
            write(f"  {plan.point_of_no_return}")
