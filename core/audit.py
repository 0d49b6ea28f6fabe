"""The audit log: who did what to which object, when and from which address.

Views and commands call `record`. Logins, logouts, failed logins and lockouts are recorded from
Django's and django-axes' signals; changes made on the admin pages (users, groups, schedules)
from the admin's own log entries. The client address is REMOTE_ADDR, or the address a trusted
reverse proxy (FERRY_TRUSTED_PROXIES) put in X-Forwarded-For.
"""
import contextvars
import ipaddress
import logging

from django.conf import settings

from core.models import AuditAction, AuditEntry

log = logging.getLogger("ferry.audit")

_current_request = contextvars.ContextVar("ferry_audit_request", default=None)


def _parse_ip(value: str):
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _trusted(address) -> bool:
    for entry in settings.FERRY_TRUSTED_PROXIES:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def client_address(request) -> str | None:
    """The address the request came from. X-Forwarded-For counts only when the peer is a trusted
    proxy; then the right-most address that is not itself a trusted proxy is the client."""
    if request is None:
        return None
    peer = _parse_ip(request.META.get("REMOTE_ADDR") or "")
    if peer is None:
        return None
    if not _trusted(peer):
        return str(peer)
    forwarded = [_parse_ip(part) for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    for address in reversed(forwarded):
        if address is None:
            break  # a malformed entry: nothing left of it can be trusted
        if not _trusted(address):
            return str(address)
    return str(peer)


def record(request, action: str, obj, detail: str = "", user=None, *, object_type: str = "",
           object_repr: str = "") -> AuditEntry:
    """Write one audit row. `request` may be None for commands and jobs (then pass `user`).

    `obj` may be None for an action on no stored object (a failed login, a refused discovery);
    then `object_type` and `object_repr` say what it was about.
    """
    if request is None:
        request = _current_request.get()
    user = user or (request.user if request is not None and getattr(request, "user", None)
                    and request.user.is_authenticated else None)
    if obj is not None:
        object_type = object_type or (obj._meta.verbose_name if hasattr(obj, "_meta") else type(obj).__name__)
        object_repr = object_repr or str(obj)
    return AuditEntry.objects.create(
        user=user,
        # No user: a command or job ("system"), or someone not signed in ("anonymous", a failed sign-in).
        username=user.get_username() if user else ("anonymous" if request is not None else "system"),
        action=action,
        object_type=object_type,
        object_id=str(getattr(obj, "pk", "") or ""),
        object_repr=object_repr[:200],
        detail=detail,
        source_address=client_address(request),
    )


class AuditRequestMiddleware:
    """Makes the current request known to audit rows written from signals (admin changes)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            _current_request.reset(token)


# -- signal receivers (connected in CoreConfig.ready) --------------------------------------------

def logged_in(sender, request, user, **kwargs):
    record(request, AuditAction.ACTION, user, "logged in", user=user)


def logged_out(sender, request, user, **kwargs):
    if user is not None:
        record(request, AuditAction.ACTION, user, "logged out", user=user)


def login_failed(sender, credentials, request=None, **kwargs):
    # `credentials` is already cleansed by Django (the password replaced by stars); keep only the name.
    username = str(credentials.get("username", ""))[:150]
    log.warning("failed login for user %r from %s", username, client_address(request) or "unknown address")
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username=username).first()
    record(request, AuditAction.ACTION, user, "login failed", object_type="user", object_repr=username)


def locked_out(sender, request, username, ip_address, **kwargs):
    log.warning("user %r locked out after repeated failed logins from %s", username, ip_address)
    record(request, AuditAction.ACTION, None, f"locked out after {settings.AXES_FAILURE_LIMIT} failed logins",
           object_type="user", object_repr=str(username or "")[:150])


_ADMIN_ACTIONS = {1: AuditAction.CREATE, 2: AuditAction.CHANGE, 3: AuditAction.DELETE}


def admin_change(sender, instance, created, **kwargs):
    """A change made on the admin pages (a user, a group, a schedule): Django logged it; so do we."""
    if not created:
        return
    model = instance.content_type.model_class() if instance.content_type_id else None
    AuditEntry.objects.create(
        user=instance.user,
        username=instance.user.get_username(),
        action=_ADMIN_ACTIONS.get(instance.action_flag, AuditAction.ACTION),
        object_type=model._meta.verbose_name if model else "object",
        object_id=str(instance.object_id or ""),
        object_repr=instance.object_repr[:200],
        detail=f"on the admin pages: {instance.get_change_message() or instance.get_action_flag_display()}",
        source_address=client_address(_current_request.get()),
    )


def connect_signals() -> None:
    from axes.signals import user_locked_out
    from django.contrib.admin.models import LogEntry
    from django.contrib.auth import signals
    from django.db.models.signals import post_save

    signals.user_logged_in.connect(logged_in, dispatch_uid="ferry_audit_login")
    signals.user_logged_out.connect(logged_out, dispatch_uid="ferry_audit_logout")
    signals.user_login_failed.connect(login_failed, dispatch_uid="ferry_audit_login_failed")
    user_locked_out.connect(locked_out, dispatch_uid="ferry_audit_locked_out")
    post_save.connect(admin_change, sender=LogEntry, dispatch_uid="ferry_audit_admin")


__all__ = ["AuditAction", "record", "client_address"]
