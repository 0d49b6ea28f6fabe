"""`make demo`: migrate, make an admin login, start the web server and the workers, print the login."""
import os
import secrets
import signal
import subprocess
import sys
import time

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand

from fabric.roles import ADMINISTRATOR


class Command(BaseCommand):
    help = "Run the Ferry demo on the embedded default: web (daphne) and workers (qcluster)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--address", default="127.0.0.1")

    def handle(self, *args, port, address, **options):
        call_command("migrate", interactive=False, verbosity=0)
        password = self._admin_login()
        env = dict(os.environ, FERRY_DEMO="1")
        children = [
            subprocess.Popen([sys.executable, "manage.py", "qcluster"], env=env),
            subprocess.Popen(
                [sys.executable, "-m", "daphne", "-b", address, "-p", str(port), "config.asgi:application"], env=env
            ),
        ]
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

    def _wait(self, children):
        def stop(*_):
            for child in children:
                if child.poll() is None:
                    child.terminate()
            for child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
            sys.exit(0)

        signal.signal(signal.SIGTERM, stop)
        try:
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        stop()
