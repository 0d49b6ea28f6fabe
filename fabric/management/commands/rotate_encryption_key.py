"""Re-encrypt every stored secret under the first key of FERRY_ENCRYPTION_KEY.

Rotation: put the new key first (`FERRY_ENCRYPTION_KEY=new,old`), run this command, then drop the
old key. Every value is checked before any is rewritten, so a value no configured key can read
stops the command with nothing changed. Prints counts only, never a secret.
"""
from cryptography.fernet import InvalidToken
from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from core.audit import AuditAction, record
from core.crypto import PREFIX, SecretError, encrypt, rotate


def encrypted_fields():
    """(model, field) for every EncryptedTextField of every installed app."""
    from core.crypto import EncryptedTextField

    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                yield model, field


def stored_values(model, field):
    """The ciphertext as stored (the field would decrypt it on the way out)."""
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(field.column)
    pk = connection.ops.quote_name(model._meta.pk.column)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {pk}, {column} FROM {table} WHERE {column} IS NOT NULL AND {column} <> ''")
        return cursor.fetchall()


class Command(BaseCommand):
    help = "Re-encrypt every stored secret under the first key of FERRY_ENCRYPTION_KEY."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="only check that every secret can be decrypted")

    def handle(self, *args, check, **options):
        try:
            encrypt("key check")
        except SecretError as exc:
            raise CommandError(str(exc)) from exc
        # One transaction: what is checked is what gets rewritten.
        with transaction.atomic():
            plan = self._rotate_all(check)
        per_field: dict[str, int] = {}
        for label in plan:
            per_field[label] = per_field.get(label, 0) + 1
        if check:
            self.stdout.write(f"All {len(plan)} stored secret(s) can be decrypted.")
            return
        for label, count in sorted(per_field.items()):
            self.stdout.write(f"{label}: {count} re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {len(plan)} secret(s) under the first key."))

    def _rotate_all(self, check: bool) -> list[str]:
        plan, unreadable = [], []
        for model, field in encrypted_fields():
            label = f"{model._meta.label}.{field.name}"
            for pk, stored in stored_values(model, field):
                try:
                    if not stored.startswith(PREFIX):
                        raise SecretError("not in the $enc$v1$ format")
                    plan.append((model, field, label, pk, rotate(stored)))
                except (InvalidToken, SecretError, ValueError):
                    unreadable.append(f"{label} id={pk}")
        if unreadable:
            shown = ", ".join(unreadable[:10]) + (f" and {len(unreadable) - 10} more" if len(unreadable) > 10 else "")
            raise CommandError(
                f"{len(unreadable)} stored secret(s) cannot be decrypted with any key in FERRY_ENCRYPTION_KEY: "
                f"{shown}. "
                "Add the key they were encrypted with (after the new one) and run again. Nothing was changed."
            )
        if not check:
            record(None, AuditAction.ACTION, None, f"re-encrypted {len(plan)} stored secret(s) under the first key",
                   object_type="encryption key", object_repr="FERRY_ENCRYPTION_KEY")
            for model, field, _label, pk, ciphertext in plan:
                # rotate() returns Ciphertext, which the field stores as it is.
                model._base_manager.filter(pk=pk).update(**{field.name: ciphertext})
        return [label for _m, _f, label, _pk, _c in plan]
