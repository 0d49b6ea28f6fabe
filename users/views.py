"""Settings › Users and roles (administrators only).

Every change runs in one transaction with its audit row. No change may leave Ferry without an
active administrator: before a change that takes the role or the sign-in away from one of them is
saved, the administrators' rows are locked and the others counted.
"""
from django.contrib import messages
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.generic import FormView

from core.audit import AuditAction, record
from core.roles import ADMINISTRATOR, AdministratorRequiredMixin, has_role
from core.views.generic import ObjectListView
from users.filters import UserFilterSet
from users.forms import PasswordResetForm, UserCreateForm, UserEditForm
from users.roles import another_active_administrator, lock_administrators, role_of, set_role
from users.tables import UserTable

User = get_user_model()
LAST_ADMINISTRATOR = (
    "This would leave no active administrator. Give another user the administrator role first."
)


class UserListView(ObjectListView):
    model = User
    required_role = ADMINISTRATOR
    table_class = UserTable
    filterset_class = UserFilterSet
    title = "Users and roles"
    add_url_name = "users:user_add"
    add_label = "Add user"
    help_text = "Who may sign in to Ferry, and with which role."

    def get_queryset(self):
        return User.objects.prefetch_related("groups").order_by("username")


class UserFormView(AdministratorRequiredMixin, FormView):
    template_name = "users/user_form.html"
    title = ""
    submit_label = "Save"

    def get_context_data(self, **kwargs):
        return super().get_context_data(title=self.title, submit_label=self.submit_label,
                                        cancel_url=reverse("users:user_list"), **kwargs)


class UserCreateView(UserFormView):
    form_class = UserCreateForm
    title = "Add user"
    submit_label = "Add user"

    def form_valid(self, form):
        try:
            with transaction.atomic():
                user = form.save()
                set_role(user, form.cleaned_data["role"])
                record(self.request, AuditAction.CREATE, user, f"Role: {form.cleaned_data['role']}")
        except IntegrityError:
            form.add_error("username", "A user with that user name was added in the meantime.")
            return self.form_invalid(form)
        messages.success(self.request, f"Added user {user}. Tell them their initial password yourself.")
        return redirect("users:user_list")


class UserObjectMixin:
    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and has_role(request.user, ADMINISTRATOR):
            self.target = get_object_or_404(User.objects.prefetch_related("groups"), pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(target=self.target, **kwargs)


class UserEditView(UserObjectMixin, UserFormView):
    form_class = UserEditForm
    submit_label = "Save"

    @property
    def title(self):
        return f"Role and state of {self.target}"

    def get_form_kwargs(self):
        # Taken before the bound form copies the posted values onto the instance.
        user = self.target
        self.before = {"role": role_of(user), "active": user.is_active, "superuser": user.is_superuser,
                       "first_name": user.first_name, "last_name": user.last_name}
        return {**super().get_form_kwargs(), "instance": user, "current_role": self.before["role"]}

    def form_valid(self, form):
        user, before = self.target, self.before
        new_role = form.cleaned_data["role"]
        loses_administration = (
            before["active"] and before["role"] == ADMINISTRATOR
            and (new_role != ADMINISTRATOR or not form.cleaned_data["is_active"])
        )
        with transaction.atomic():
            if loses_administration:
                lock_administrators()
                if not another_active_administrator(user):
                    transaction.set_rollback(True)
                    form.add_error("is_active" if new_role == ADMINISTRATOR else "role", LAST_ADMINISTRATOR)
                    return self.form_invalid(form)
            user = form.save()
            set_role(user, new_role)
            changes = _describe(before, {"role": new_role, "active": user.is_active, "superuser": user.is_superuser})
            changes += [f"{form[name].label}: {before[name] or '—'} → {getattr(user, name) or '—'}"
                        for name in ("first_name", "last_name") if before[name] != getattr(user, name)]
            if changes:
                record(self.request, AuditAction.CHANGE, user, "; ".join(changes))
        messages.success(self.request, f"Saved user {user}." if changes else f"Nothing changed for {user}.")
        if user.pk == self.request.user.pk and not has_role(_fresh(user), ADMINISTRATOR):
            return redirect("/")
        return redirect("users:user_list")


def _fresh(user):
    return User.objects.get(pk=user.pk)


def _describe(before: dict, after: dict) -> list[str]:
    def yes_no(value):
        return "Yes" if value else "No"

    parts = []
    if before["role"] != after["role"]:
        parts.append(f"Role: {before['role'] or 'none'} → {after['role']}")
    if before["active"] != after["active"]:
        parts.append(f"May sign in: {yes_no(before['active'])} → {yes_no(after['active'])}")
    if before["superuser"] != after["superuser"]:
        parts.append(f"Superuser: {yes_no(before['superuser'])} → {yes_no(after['superuser'])}")
    return parts


class UserPasswordView(UserObjectMixin, UserFormView):
    form_class = PasswordResetForm
    submit_label = "Set password"

    @property
    def title(self):
        return f"Reset the password of {self.target}"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.target}

    def form_valid(self, form):
        with transaction.atomic():
            user = form.save()
            record(self.request, AuditAction.CHANGE, user, "Password: reset by an administrator")
        if user.pk == self.request.user.pk:
            update_session_auth_hash(self.request, user)
        messages.success(self.request, f"Set a new password for {user}. Tell it to them yourself; their open "
                                       "sessions have ended.")
        return redirect("users:user_list")
