"""`manage.py add_deployment_server ADDRESS --run-as NAME`: add a WDS (PXE) deployment server."""
from django.core.management.base import BaseCommand

from fabric.inventory import add_deployment_server
from fabric.management.commands._machine_options import add_connection_arguments, connection_kwargs, run_discovery


class Command(BaseCommand):
    help = "Add (or update) a deployment server (WDS); Get-WdsClient must answer on it."

    def add_arguments(self, parser):
        add_connection_arguments(parser)
        parser.add_argument("--remote-install", help="the WDS RemoteInstall folder (default D:\\RemoteInstall)")

    def handle(self, *args, **options):
        server = run_discovery(self, add_deployment_server, options["address"],
                               remote_install_path=options["remote_install"], **connection_kwargs(options))
        self.stdout.write(f"Deployment server {server.name} (RemoteInstall {server.remote_install_path}).")
