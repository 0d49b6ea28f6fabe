"""`make demo`: migrate, start the simulated datacenter, add it to Ferry by discovery, serve.

The lab (lab/topologies/demo.toml) is discovered through the same code path an operator uses
(fabric.inventory): Run As accounts are made from the lab's endpoints file, then its clusters,
file server, standalone hosts, update server and deployment server are added by address.
"""
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from core.roles import ADMINISTRATOR
from fabric import agents
from fabric.choices import WinRMTransport
from fabric.inventory import (
    InventoryError,
    add_deployment_server,
    add_update_server,
    discover_cluster,
    discover_host,
)
from fabric.models import Cluster, Host, LibraryImage, LogicalNetwork, PhysicalComputerProfile, RunAsAccount, Subnet

LAB_READY_TIMEOUT = 120
# The demo's clusters to upgrade (a Hyper-V cluster and a Scale-Out File Server, with the profile
# made for each), their target build (Windows Server 2022), and the node whose BMC settings Ferry is
# not told: its BMC is in the lab (and the endpoints file), as for a node never provisioned by
# Ferry, so the wizard shows Missing Settings until its BMC IP is typed.
UPGRADE_CLUSTERS = {"HVC19": "Windows Server 2022 Hyper-V hosts", "FSC19": "Windows Server 2022 file servers"}
UPGRADE_BUILD, UNKNOWN_BMC = 20348, "HV19-N4"


class Command(BaseCommand):
    help = "Run the Ferry demo: the simulated datacenter, web (daphne) and workers (qcluster)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--address", default="127.0.0.1")
        parser.add_argument("--topology", default=str(settings.BASE_DIR / "lab" / "topologies" / "demo.toml"))
        parser.add_argument("--lab-port-base", type=int, default=25985,
                            help="WinRM HTTP port of every simulated host (HTTPS +1, BMC +2)")
        parser.add_argument("--speed", type=float, help="lab speed factor (default: the topology's)")
        parser.add_argument("--no-lab", action="store_true", help="serve only; do not start the lab")

    def handle(self, *args, port, address, topology, lab_port_base, speed, no_lab, **options):
        call_command("migrate", interactive=False, verbosity=0)
        password = self._admin_login()
        env = dict(os.environ, FERRY_DEMO="1")
        children = []
        try:
            if not no_lab:
                lab, endpoints = self._start_lab(topology, lab_port_base, speed, env)
                children.append(lab)
                self._discover(endpoints)
                from compliance.demo import prepare

                prepare(write=self.stdout.write)
            from fabric.tasks import ensure_refresh_schedule

            ensure_refresh_schedule()
            children += [
                subprocess.Popen([sys.executable, "manage.py", "qcluster"], env=env),
                subprocess.Popen([sys.executable, "-m", "config.web", "-b", address, "-p", str(port)], env=env),
            ]
        except BaseException:
            self._stop(children)
            raise
        self.stdout.write(
            self.style.SUCCESS(f"Ferry is serving http://{address}:{port}/  —  login: admin / {password}")
        )
        self._wait(children)

    def _admin_login(self) -> str:
        password = secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(username="admin")
        user.set_password(password)
        user.is_staff = True
        user.save()
        user.groups.add(Group.objects.get(name=ADMINISTRATOR))
        return password

    # -- the lab ------------------------------------------------------------------------------
    def _start_lab(self, topology: str, port_base: int, speed, env):
        endpoints_file = Path(settings.VAR_DIR) / "lab-endpoints.json"
        endpoints_file.unlink(missing_ok=True)
        command = [sys.executable, "-m", "lab", "serve", "--topology", topology, "--endpoints-out",
                   str(endpoints_file), "--port-base", str(port_base)]
        if speed:
            command += ["--speed", str(speed)]
        self.stdout.write(f"Starting the simulated datacenter ({Path(topology).name}) ...")
        lab = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True, cwd=settings.BASE_DIR)
        deadline = time.monotonic() + LAB_READY_TIMEOUT
        while True:
            line = lab.stdout.readline()
            if "lab ready" in line:
                break
            if not line and lab.poll() is not None:
                raise CommandError(f"The lab stopped while starting (exit code {lab.returncode}); see its messages above.")
            if time.monotonic() > deadline:
                lab.terminate()
                raise CommandError(f"The lab did not say 'lab ready' within {LAB_READY_TIMEOUT} s.")
        # Keep draining its output so it never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in lab.stdout], daemon=True).start()
        return lab, json.loads(endpoints_file.read_text())

    def _discover(self, endpoints: dict) -> None:
        """Add everything the lab offers, the way an operator would: address + Run As account."""
        accounts = _AccountBook()
        ca_path = endpoints.get("ca_path") or ""
        try:
            for entry in endpoints.get("clusters", []):
                cluster = discover_cluster(**self._target(entry["winrm"], accounts, ca_path), kind=entry.get("kind"))
                self.stdout.write(f"  added {cluster.get_kind_display()} cluster {cluster.name}: "
                                  f"{cluster.nodes.count()} nodes, {cluster.vms.count()} VMs, "
                                  f"{cluster.shares.count()} shares")
                for warning in cluster.discovery_warnings:
                    self.stderr.write(self.style.WARNING(f"    {warning}"))
            for entry in endpoints.get("hosts", []):
                if entry.get("cluster"):
                    continue
                added = discover_host(**self._target(entry["winrm"], accounts, ca_path))
                self.stdout.write(f"  added host {added.name}: {added.vms.count()} VMs")
            wsus = endpoints.get("update_server")
            if wsus:
                server = add_update_server(**self._target(wsus["winrm"], accounts, ca_path),
                                           wsus_port=wsus.get("wsus_port", 8530))
                self.stdout.write(f"  added update server {server.name}")
            wds = endpoints.get("deployment_server")
            if wds:
                server = add_deployment_server(**self._target(wds["winrm"], accounts, ca_path),
                                               remote_install_path=wds.get("remote_install"))
                self.stdout.write(f"  added deployment server {server.name}")
            self._set_bmcs(endpoints.get("hosts", []), accounts)
            self._ready_to_upgrade()
        except (agents.AgentError, InventoryError) as error:
            raise CommandError(f"Discovering the lab failed: {error}") from error

    def _target(self, winrm: dict, accounts: "_AccountBook", ca_path: str) -> dict:
        """Prefer HTTPS (validated against the lab's CA), like production."""
        url = urlsplit(winrm.get("https_url") or winrm["url"])
        transport = winrm.get("transport", "ntlm")
        https = url.scheme == "https"
        return dict(
            address=url.hostname, run_as=accounts.get("Lab WinRM", winrm["username"], winrm["password"]),
            port=url.port, https=https, transport=transport, ca_path=ca_path if https else "",
            # The lab has a host that only speaks Basic; production would not allow it.
            allow_insecure=(not https) or transport == "basic",
        )

    def _set_bmcs(self, hosts: list, accounts: "_AccountBook") -> None:
        for entry in hosts:
            bmc = entry.get("bmc")
            if not bmc:
                continue
            host = Host.objects.filter(name__iexact=entry["name"]).first()
            if host is None or host.name.lower() == UNKNOWN_BMC.lower():
                continue
            host.bmc_address = bmc["address"]
            host.bmc_port = bmc.get("port", 623)
            host.bmc_run_as = accounts.get("Lab BMC", bmc["username"], bmc["password"])
            host.save(update_fields=["bmc_address", "bmc_port", "bmc_run_as"])

    def _ready_to_upgrade(self) -> None:
        for name, profile_name in UPGRADE_CLUSTERS.items():
            self._ready_to_upgrade_one(name, profile_name)

    def _ready_to_upgrade_one(self, name: str, profile_name: str) -> None:
        """HVC19 and FSC19 (2019) ready for Upgrade Cluster to 2022: a profile naming the deployment
        server's 2022 VHDX, a BMC Run As account (set above), and the lab's management subnet so each
        node keeps its address."""
        cluster = Cluster.objects.filter(name=name).first()
        image = (LibraryImage.objects.filter(deployment_server__isnull=False, os_build=UPGRADE_BUILD,
                                             vhd_path__iendswith=".vhdx").order_by("name").first())
        if cluster is None or image is None:
            self.stderr.write(self.style.WARNING(f"  {name} or a {UPGRADE_BUILD} VHDX in the deployment "
                                                 f"server's library is missing: no upgrade profile made"))
            return
        domain = cluster.fqdn.partition(".")[2]
        network, _ = LogicalNetwork.objects.get_or_create(
            name="Lab management", defaults={"description": "The lab's management network (loopback)."})
        Subnet.objects.get_or_create(cidr="127.0.10.0/24", defaults={
            "logical_network": network, "name": "Lab management 127.0.10.0/24", "gateway": "127.0.10.254",
            "dns_servers": "127.0.10.253", "dns_suffix": domain})
        profile, _ = PhysicalComputerProfile.objects.update_or_create(
            name=profile_name, defaults={
                "description": f"Made by the demo: re-image {name}'s nodes with Windows Server 2022.",
                "image": image, "host_group": cluster.host_group, "domain": domain,
                "domain_join_run_as": cluster.run_as if domain else None, "admin_run_as": cluster.run_as})
        # Evicting and adding nodes and joining the domain act on other machines with the Run As
        # account's identity (a second hop): the lab's machines accept CredSSP over HTTPS.
        if cluster.winrm_https:
            Cluster.objects.filter(pk=cluster.pk).update(credssp_second_hop=True)
            cluster.nodes.filter(winrm_https=True).update(credssp_second_hop=True)
        if image.deployment_server.winrm_https:
            type(image.deployment_server).objects.filter(pk=image.deployment_server_id).update(
                winrm_transport=WinRMTransport.CREDSSP)
        unknown = cluster.nodes.filter(bmc_address__isnull=True).values_list("name", flat=True)
        self.stdout.write(f"  {cluster.name} is ready to upgrade to {image} with the profile {profile}"
                          + (f"; the BMC settings of {', '.join(unknown)} are left for the wizard" if unknown else ""))

    # -- processes ------------------------------------------------------------------------------
    def _stop(self, children):
        for child in reversed(children):
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()

    def _wait(self, children):
        def stop(*_):
            self._stop(children)
            sys.exit(0)

        signal.signal(signal.SIGTERM, stop)
        try:
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        stop()


class _AccountBook:
    """One Run As account per distinct credential the lab hands out ("Lab WinRM", "Lab WinRM 2", ...)."""

    def __init__(self):
        self.by_credential: dict[tuple[str, str], RunAsAccount] = {}
        self.counts: dict[str, int] = {}

    def get(self, label: str, username: str, password: str) -> RunAsAccount:
        key = (username, password)
        if key not in self.by_credential:
            n = self.counts[label] = self.counts.get(label, 0) + 1
            name = label if n == 1 else f"{label} {n}"
            account, _ = RunAsAccount.objects.get_or_create(name=name, defaults={"username": username})
            account.username, account.password = username, password
            account.description = "Made by the demo from the lab's endpoints file."
            account.save()
            self.by_credential[key] = account
        return self.by_credential[key]
