from fabric.choices import AuditAction
from fabric.models import AuditEntry


def client_address(request) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record(request, action: str, obj, detail: str = "", user=None) -> AuditEntry:
    """Write one audit row. `request` may be None for commands and jobs (then pass `user`)."""
    user = user or (request.user if request is not None and request.user.is_authenticated else None)
    return AuditEntry.objects.create(
        user=user,
        username=user.get_username() if user else "system",
        action=action,
        object_type=obj._meta.verbose_name if hasattr(obj, "_meta") else type(obj).__name__,
        object_id=str(getattr(obj, "pk", "") or ""),
        object_repr=str(obj)[:200],
        detail=detail,
        source_address=client_address(request),
    )


__all__ = ["AuditAction", "record", "client_address"]
