"""Whose role is what, and the rule that some active administrator always remains.

A user's role is the highest of the three role groups they are in (core.roles); a superuser
counts as an administrator. Setting a role puts the user in exactly that one group.
"""
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Q

from core.roles import ADMINISTRATOR, ROLES

NO_ROLE = ""


def role_of(user) -> str:
    """The user's role whether or not they are active (a disabled user keeps it for when they are
    enabled again). Reads `user.groups.all()`, so a list prefetches the groups."""
    if user.is_superuser:
        return ADMINISTRATOR
    names = {g.name for g in user.groups.all()}
    return max((role for role in ROLES if role in names), key=ROLES.index, default=NO_ROLE)


def set_role(user, role: str) -> None:
    """Put `user` in the group of `role` and no other role group. A superuser given a lower role
    stops being a superuser (and staff), so the role means what it says."""
    user.groups.remove(*Group.objects.filter(name__in=ROLES).exclude(name=role))
    user.groups.add(Group.objects.get(name=role))
    if role != ADMINISTRATOR and (user.is_superuser or user.is_staff):
        user.is_superuser = user.is_staff = False
        user.save(update_fields=["is_superuser", "is_staff"])
    user.__dict__.pop("_ferry_role_rank", None)


def active_administrators():
    """Users who may sign in and hold the administrator role."""
    return (
        get_user_model().objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name=ADMINISTRATOR))
        .distinct()
    )


def lock_administrators() -> None:
    """Lock the active administrators' rows until the transaction ends, so two changes that each
    take one administrator away cannot both see the other one still there."""
    list(get_user_model().objects.select_for_update().filter(pk__in=active_administrators().values("pk")))


def another_active_administrator(user) -> bool:
    return active_administrators().exclude(pk=user.pk).exists()
