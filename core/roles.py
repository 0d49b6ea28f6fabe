"""The three roles (Django groups made by a migration): viewer < operator < administrator.

viewer: read everything. operator: start and cancel jobs, scan, remediate, upgrade.
administrator: change the fabric, Run As accounts, baselines, users. Superusers are administrators.
"""
from django.contrib.auth.mixins import AccessMixin
from django.core.exceptions import PermissionDenied

VIEWER = "viewer"
OPERATOR = "operator"
ADMINISTRATOR = "administrator"
ROLES = (VIEWER, OPERATOR, ADMINISTRATOR)
_RANK = {role: rank for rank, role in enumerate(ROLES, start=1)}


def role_rank(user) -> int:
    if not user.is_authenticated:
        return 0
    if user.is_superuser:
        return _RANK[ADMINISTRATOR]
    cached = getattr(user, "_ferry_role_rank", None)
    if cached is None:
        names = user.groups.filter(name__in=ROLES).values_list("name", flat=True)
        cached = max((_RANK[n] for n in names), default=0)
        user._ferry_role_rank = cached
    return cached


def has_role(user, role: str) -> bool:
    return role_rank(user) >= _RANK[role]


def require_role(user, role: str) -> None:
    if not has_role(user, role):
        raise PermissionDenied(f"This needs the {role} role.")


class RoleRequiredMixin(AccessMixin):
    """A class-based view mixin: anonymous → login page, a user without the role → 403."""

    required_role = VIEWER

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        require_role(request.user, self.required_role)
        return super().dispatch(request, *args, **kwargs)


class OperatorRequiredMixin(RoleRequiredMixin):
    required_role = OPERATOR


class AdministratorRequiredMixin(RoleRequiredMixin):
    required_role = ADMINISTRATOR
