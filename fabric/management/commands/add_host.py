"""`manage.py add_host ADDRESS --run-as NAME`: add a standalone Hyper-V host."""
from django.core.management.base import BaseCommand, CommandError

from fabric.inventory import discover_host
from fabric.management.commands._machine_options import (
    add_connection_arguments,
    connection_kwargs,
    find_host_group,
    print_warnings,
    run_discovery,
)
from fabric.models import RunAsAccount


class Command(BaseCommand):
    help = "Add (or update) a standalone Hyper-V host by discovery; optionally its BMC settings."

    def add_arguments(self, parser):
        add_connection_arguments(parser)
        parser.add_argument("--host-group", help="host group path or name (default: All Hosts)")
        parser.add_argument("--bmc-address", help="IP address of the host's BMC (IPMI)")
        parser.add_argument("--bmc-port", type=int, default=623)
        parser.add_argument("--bmc-run-as", metavar="NAME", help="Run As account for the BMC")

    def handle(self, *args, **options):
        group = find_host_group(options["host_group"])
        bmc_run_as = None
        if options["bmc_run_as"]:
            bmc_run_as = RunAsAccount.objects.filter(name=options["bmc_run_as"]).first()
            if bmc_run_as is None:
                raise CommandError(f"There is no Run As account named {options['bmc_run_as']!r}.")
        host = run_discovery(self, discover_host, options["address"], host_group=group,
                             bmc_address=options["bmc_address"], bmc_port=options["bmc_port"], bmc_run_as=bmc_run_as,
                             **connection_kwargs(options))
        print_warnings(self, host)
        self.stdout.write(f"Host {host.name}: {host.os_name} (build {host.os_build}), {host.vms.count()} VMs, "
                          f"status {host.get_status_display()}.")
