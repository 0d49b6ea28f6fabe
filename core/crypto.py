"""Secrets at rest: `$enc$v1$<Fernet token>`.

FERRY_ENCRYPTION_KEY holds one or more Fernet keys separated by commas; the first encrypts, all
of them decrypt. To rotate: put the new key first, keep the old one after it, run
`manage.py rotate_encryption_key`, then drop the old key.
"""
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

PREFIX = "$enc$v1$"


class SecretError(Exception):
    pass


class Ciphertext(str):
    """A value that is already encrypted (what `rotate` returns): stored as it is.

    Only this type bypasses encryption. A plain string that merely looks like ciphertext (someone
    typed `$enc$v1$...` as a password) is a secret like any other and gets encrypted.
    """


def _fernet() -> MultiFernet:
    keys = [k.strip() for k in settings.FERRY_ENCRYPTION_KEY.split(",") if k.strip()]
    try:
        return MultiFernet([Fernet(k.encode()) for k in keys])
    except ValueError as exc:
        raise SecretError("FERRY_ENCRYPTION_KEY is not a valid Fernet key (32 url-safe base64 bytes)") from exc


def encrypt(plaintext: str) -> str:
    return PREFIX + _fernet().encrypt(plaintext.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        raise SecretError("stored secret is not in the $enc$v1$ format")
    try:
        return _fernet().decrypt(stored[len(PREFIX):].encode()).decode()
    except InvalidToken as exc:
        raise SecretError("stored secret cannot be decrypted with FERRY_ENCRYPTION_KEY") from exc


def rotate(stored: str) -> Ciphertext:
    """Re-encrypt under the first key."""
    return Ciphertext(PREFIX + _fernet().rotate(stored[len(PREFIX):].encode()).decode())


class EncryptedTextField(models.TextField):
    """Holds the plaintext in Python, the ciphertext in the database. Never rendered back."""

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        if isinstance(value, Ciphertext):
            return str(value)
        return encrypt(value)
