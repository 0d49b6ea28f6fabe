"""`manage.py add_update_server ADDRESS --run-as NAME`: add a WSUS server."""
from django.core.management.base import BaseCommand

from fabric.inventory import add_update_server
from fabric.management.commands._machine_options import add_connection_arguments, connection_kwargs, run_discovery


class Command(BaseCommand):
    help = "Add (or update) an update server (WSUS); Get-WsusServer must answer on it."

    def add_arguments(self, parser):
        add_connection_arguments(parser)
        parser.add_argument("--wsus-port", type=int, default=8530, help="WSUS port (default 8530)")
        parser.add_argument("--wsus-ssl", action="store_true", help="WSUS uses SSL")

    def handle(self, *args, **options):
        server = run_discovery(self, add_update_server, options["address"], wsus_port=options["wsus_port"],
                               wsus_ssl=options["wsus_ssl"], **connection_kwargs(options))
        self.stdout.write(f"Update server {server.name} (WSUS port {server.wsus_port}).")
