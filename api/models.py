"""Personal API tokens: `ferry_<prefix>_<secret>`, shown once; only the prefix and a hash are kept."""
import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

TOKEN_PREFIX = "ferry_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked__isnull=True)


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What uses it, e.g. “nightly patch script”")
    prefix = models.CharField(max_length=16, unique=True, help_text="The token's visible start, to tell it apart.")
    digest = models.CharField(max_length=64, help_text="SHA-256 of the whole token; the token itself is not kept.")
    created = models.DateTimeField(default=timezone.now)
    last_used = models.DateTimeField(null=True, blank=True)
    revoked = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = "API token"

    def __str__(self):
        return f"{self.name} ({TOKEN_PREFIX}{self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked is None

    @classmethod
    def issue(cls, user, name: str) -> tuple["ApiToken", str]:
        """A new token for `user`: (the row, the token to show once)."""
        while True:
            prefix = secrets.token_hex(4)
            if not cls.objects.filter(prefix=prefix).exists():
                break
        token = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        row = cls.objects.create(user=user, name=name, prefix=prefix, digest=_digest(token))
        return row, token

    @classmethod
    def find(cls, token: str) -> "ApiToken | None":
        """The active token row matching `token`, or None."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        prefix, _, secret = token[len(TOKEN_PREFIX):].partition("_")
        if not prefix or not secret:
            return None
        row = cls.objects.active().select_related("user").filter(prefix=prefix).first()
        if row is None or not hmac.compare_digest(row.digest, _digest(token)):
            return None
        return row

    def revoke(self) -> bool:
        """Revoke it now; False if it already was."""
        now = timezone.now()
        changed = ApiToken.objects.filter(pk=self.pk, revoked__isnull=True).update(revoked=now)
        if changed:
            self.revoked = now
        return bool(changed)
