"""`manage.py add_runas NAME --username U`: create or update a Run As account; password from stdin."""
import getpass
import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core.audit import AuditAction, record
from fabric.models import RunAsAccount


class Command(BaseCommand):
    help = ("Create or update a Run As account. The password is read from standard input (one line), or "
            "asked for when run at a terminal; it is stored encrypted and never printed.")

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--username", required=True, help="DOMAIN\\user or user@domain")
        parser.add_argument("--description", default="")

    def handle(self, *args, name, username, description, **options):
        if not name.strip() or len(name) > 100:
            raise CommandError("Give the account a name of 1 to 100 characters.")
        if not username.strip():
            raise CommandError("The username is empty.")
        password = self._read_password()
        with transaction.atomic():
            account = RunAsAccount.objects.select_for_update().filter(name=name).first()
            created = account is None
            account = account or RunAsAccount(name=name)
            account.username = username.strip()
            account.password = password
            if description:
                account.description = description
            account.full_clean()
            account.save()
            record(None, AuditAction.CREATE if created else AuditAction.CHANGE, account,
                   detail=f"user {account.username}; password {'set' if created else 'changed'}")
        self.stdout.write(f"Run As account {name!r} {'created' if created else 'updated'} (user {account.username}).")

    def _read_password(self) -> str:
        if sys.stdin.isatty():
            password = getpass.getpass("Password: ")
        else:
            password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CommandError("No password was given on standard input (echo it in a pipe, or type it at the prompt).")
        if "\x00" in password:
            raise CommandError("The password contains a NUL character.")
        return password
