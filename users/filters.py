import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Q

from core.filters import YES_NO, SearchFilterSet
from core.roles import ADMINISTRATOR, ROLES


class UserFilterSet(SearchFilterSet):
    search_fields = ("username", "first_name", "last_name")
    role = django_filters.ChoiceFilter(label="Role", choices=[(r, r.capitalize()) for r in ROLES], method="with_role",
                                       empty_label="Any role")
    is_active = django_filters.ChoiceFilter(label="May sign in", choices=YES_NO[1:], method="active",
                                            empty_label="Any")

    class Meta:
        model = get_user_model()
        fields = ["q", "role", "is_active"]

    def with_role(self, queryset, name, value):
        condition = Q(groups__name=value)
        if value == ADMINISTRATOR:
            condition |= Q(is_superuser=True)
        else:
            # The highest role counts: an operator is not listed among viewers.
            higher = ROLES[ROLES.index(value) + 1:]
            queryset = queryset.exclude(groups__name__in=higher).exclude(is_superuser=True)
        return queryset.filter(condition).distinct()

    def active(self, queryset, name, value):
        return queryset.filter(is_active=value == "true")
