"""`manage.py add_cluster ADDRESS --run-as NAME`: add a Hyper-V or Scale-Out File Server cluster."""
from django.core.management.base import BaseCommand

from fabric.inventory import discover_cluster
from fabric.management.commands._machine_options import (
    add_connection_arguments,
    connection_kwargs,
    find_host_group,
    print_warnings,
    run_discovery,
)


class Command(BaseCommand):
    help = ("Add (or update) a cluster by discovery. ADDRESS is the cluster's name or IP, or any node's. "
            "Its nodes, their management addresses, OS, VMs and (SOFS) shares are read from the machines.")

    def add_arguments(self, parser):
        add_connection_arguments(parser)
        parser.add_argument("--host-group", help="host group path or name (default: All Hosts)")
        parser.add_argument("--kind", choices=["hyperv", "sofs"], help="default: found from the cluster's roles")

    def handle(self, *args, **options):
        group = find_host_group(options["host_group"])
        cluster = run_discovery(self, discover_cluster, options["address"], host_group=group, kind=options["kind"],
                                **connection_kwargs(options))
        print_warnings(self, cluster)
        nodes = cluster.nodes.count()
        self.stdout.write(f"{cluster.get_kind_display()} cluster {cluster.name}: {nodes} nodes, "
                          f"{cluster.vms.count()} VMs, {cluster.shares.count()} shares, "
                          f"functional level {cluster.functional_level}.")
