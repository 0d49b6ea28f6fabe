"""The three roles on the API, through the same checks as the pages (core.roles)."""
from rest_framework import permissions

from core.roles import OPERATOR, VIEWER, has_role


class RolePermission(permissions.BasePermission):
    """Reading needs the viewer role; anything else the view's `required_role` (operator unless
    it says administrator)."""

    message = "This needs a role you do not have."

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False
        if request.method in permissions.SAFE_METHODS:
            role = getattr(view, "read_role", VIEWER)
        else:
            role = getattr(view, "required_role", OPERATOR)
        if not has_role(request.user, role):
            self.message = f"This needs the {role} role."
            return False
        return True
