"""The few generic views every page of an object is made of: list, detail, create, edit, delete.

Lists are django-tables2 tables filtered by django-filter; an htmx request that targets the
table (sorting, paging, filtering) gets only the `results` partial back. Every change runs in a
transaction together with its audit row, so a failure leaves neither.
"""
from django.contrib import messages
from django.core.exceptions import FieldDoesNotExist
from django.db import IntegrityError, transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.deletion import ProtectedError, RestrictedError
from django.db.models.functions import Coalesce
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.text import slugify
from django.views.generic import CreateView, DeleteView, DetailView, UpdateView
from django_filters.views import FilterView
from django_tables2 import RequestConfig, SingleTableMixin
from django_tables2.export import ExportMixin

from core.audit import AuditAction, record
from core.crypto import EncryptedTextField
from core.htmx import PartialTemplateMixin
from core.roles import ADMINISTRATOR, AdministratorRequiredMixin, RoleRequiredMixin, has_role
from core.tables import CsvExport

PER_PAGE = 50


def count_of(model, fk: str, **conditions):
    """A correlated COUNT of `model` rows pointing at the outer row: one query for the whole page,
    evaluated only for the rows on it."""
    rows = model.objects.filter(**{fk: OuterRef("pk")}, **conditions).order_by().values(fk)
    return Coalesce(Subquery(rows.annotate(n=Count("*")).values("n")), 0)


def paginated(request, table, per_page: int = PER_PAGE):
    RequestConfig(request, paginate={"per_page": per_page}).configure(table)
    return table


def export_response(request, table, filename: str):
    """`?_export=csv` of a table a page builds itself (a short list beside a form): the rows it shows, as
    ObjectListView exports them; None when no export was asked for."""
    if request.method != "GET" or request.GET.get("_export") != CsvExport.CSV:
        return None
    return CsvExport(CsvExport.CSV, table, exclude_columns=()).response(filename=f"{filename}.csv")


class ObjectListView(RoleRequiredMixin, PartialTemplateMixin, ExportMixin, SingleTableMixin, FilterView):
    """A list: sortable, paged, filtered, counted ("42 hosts") and exportable as CSV (?_export=csv,
    with the filters applied) by whoever may see it."""

    template_name = "core/object_list.html"
    partials = {"results": "core/object_list.html#results"}
    table_pagination = {"per_page": PER_PAGE}
    export_class = CsvExport
    title = ""
    count_nouns: tuple[str, str] | None = None  # (one, many); the model's names by default
    add_url_name = ""
    add_label = "Add"
    more_add_links: list[tuple[str, str]] = []  # (label, url name): other ways to add, shown after Add
    help_text = ""
    list_actions = ""  # a template included in the toolbar beside Add (buttons acting on ticked rows)

    def get_title(self) -> str:
        return self.title or self.model._meta.verbose_name_plural.capitalize()

    def get_export_filename(self, export_format):
        return f"{slugify(self.get_title())}.{export_format}"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = self.get_title()
        context["count_nouns"] = self.count_nouns or (
            self.model._meta.verbose_name, self.model._meta.verbose_name_plural
        )
        context["help_text"] = self.help_text
        context["list_actions"] = self.list_actions
        if self.add_url_name and has_role(self.request.user, ADMINISTRATOR):
            context["add_url"] = reverse(self.add_url_name)
            context["add_label"] = self.add_label
            context["more_add_links"] = [(label, reverse(name)) for label, name in self.more_add_links]
        return context


class ObjectDetailView(RoleRequiredMixin, PartialTemplateMixin, DetailView):
    """A detail page. `fields` lists the attributes shown in the generic key/value block."""

    template_name = "core/object_detail.html"
    fields: list[str] = []
    edit_url_name = ""
    delete_url_name = ""
    list_url_name = ""

    def field_rows(self):
        return [display_field(self.object, name) for name in self.fields]

    def parents(self) -> list:
        """The objects this one lives in, outermost first: breadcrumbs between the list and it."""
        return []

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = str(self.object)
        context["kind"] = self.object._meta.verbose_name
        context["rows"] = self.field_rows()
        context["parents"] = self.parents()
        if self.list_url_name:
            context["list_url"] = reverse(self.list_url_name)
        if has_role(self.request.user, ADMINISTRATOR):
            if self.edit_url_name:
                context["edit_url"] = reverse(self.edit_url_name, args=[self.object.pk])
            if self.delete_url_name:
                context["delete_url"] = reverse(self.delete_url_name, args=[self.object.pk])
        return context


def display_field(obj, name: str) -> tuple[str, object]:
    """(label, value) for one model field: choices by label, related objects by name, never a secret."""
    field = obj._meta.get_field(name)
    label = field.verbose_name[:1].upper() + field.verbose_name[1:]
    if isinstance(field, EncryptedTextField):
        return label, "set" if getattr(obj, name) else "not set"
    if field.choices:
        return label, getattr(obj, f"get_{name}_display")()
    value = getattr(obj, name)
    if isinstance(value, bool):
        return label, "Yes" if value else "No"
    return label, value if value not in (None, "") else "—"


def _audit_value(obj, name: str, form) -> str:
    if name in getattr(form, "secret_fields", ()):
        return "changed"
    try:
        field = obj._meta.get_field(name)
    except FieldDoesNotExist:
        return ""
    if isinstance(field, EncryptedTextField):
        return "changed"
    value = display_field(obj, name)[1]
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "…"


def describe_changes(form, before) -> str:
    """`field: old → new` for each changed field; secrets only as `changed`."""
    parts = []
    for name in form.changed_data:
        label = form[name].label
        if name in getattr(form, "secret_fields", ()):
            if name == "password" and getattr(form, "password_changed", False):
                parts.append(f"{label}: changed")
            continue
        new = _audit_value(form.instance, name, form)
        if before is None:
            parts.append(f"{label}: {new}")
        else:
            old = _audit_value(before, name, form)
            if old != new:
                parts.append(f"{label}: {old} → {new}")
    return "; ".join(parts)


class AdminFormMixin(AdministratorRequiredMixin):
    """Create and edit: administrators only; model validation as field errors; save + audit in one transaction."""

    template_name = "core/object_form.html"
    cancel_url_name = ""

    def get_success_url(self):
        if hasattr(self.object, "get_absolute_url"):
            return self.object.get_absolute_url()
        return reverse(self.cancel_url_name)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        instance = context["form"].instance
        verbose = self.model._meta.verbose_name
        context["title"] = f"Edit {verbose} {instance}" if instance.pk else f"Add {verbose}"
        context["cancel_url"] = self.get_cancel_url()
        return context

    def get_cancel_url(self):
        if self.object is not None and hasattr(self.object, "get_absolute_url"):
            return self.object.get_absolute_url()
        return reverse(self.cancel_url_name) if self.cancel_url_name else "/"

    def form_valid(self, form):
        creating = form.instance.pk is None
        before = None if creating else self._stored_copy(form)
        try:
            with transaction.atomic():
                self.object = form.save()
                record(
                    self.request, AuditAction.CREATE if creating else AuditAction.CHANGE, self.object,
                    describe_changes(form, before),
                )
        except IntegrityError:
            # A concurrent change got there first (a name taken in the meantime): nothing was saved.
            form.add_error(None, "Saving failed because another change conflicts with this one. Check and retry.")
            return self.form_invalid(form)
        verb = "Added" if creating else "Saved"
        messages.success(self.request, f"{verb} {self.model._meta.verbose_name} {self.object}.")
        return redirect(self.get_success_url())

    def _stored_copy(self, form):
        secret = {f.name for f in self.model._meta.fields if isinstance(f, EncryptedTextField)}
        return self.model.objects.defer(*secret).filter(pk=form.instance.pk).first()


class ObjectCreateView(AdminFormMixin, CreateView):
    pass


class ObjectEditView(AdminFormMixin, UpdateView):
    pass


class ObjectDeleteView(AdministratorRequiredMixin, DeleteView):
    """Asks first; refuses (409, nothing deleted) when `blockers()` or a protecting reference says no."""

    template_name = "core/object_confirm_delete.html"
    success_url_name = ""
    verb = "Delete"
    done = "Deleted"
    consequences = ""

    def blockers(self) -> list[str]:
        return []

    def get_success_url(self):
        return reverse(self.success_url_name)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("blockers", self.blockers())
        context["verb"] = self.verb
        context["kind"] = self.model._meta.verbose_name
        context["consequences"] = self.consequences
        context["cancel_url"] = (
            self.object.get_absolute_url() if hasattr(self.object, "get_absolute_url") else self.get_success_url()
        )
        return context

    def delete_object(self):
        self.object.delete()

    def form_valid(self, form):
        reasons = self.blockers()
        if not reasons:
            try:
                with transaction.atomic():
                    record(self.request, AuditAction.DELETE, self.object, self.audit_detail())
                    self.delete_object()
            except (ProtectedError, RestrictedError) as exc:
                reasons = [in_use_message(exc)]
        if reasons:
            context = self.get_context_data(blockers=reasons)
            return TemplateResponse(self.request, self.template_name, context, status=409)
        messages.success(self.request, f"{self.done} {self.model._meta.verbose_name} {self.object}.")
        return redirect(self.get_success_url())

    def audit_detail(self) -> str:
        return ""


def in_use_message(exc: ProtectedError | RestrictedError) -> str:
    objects = list(getattr(exc, "protected_objects", None) or getattr(exc, "restricted_objects", None) or [])
    names = [f"{o._meta.verbose_name} {o}" for o in objects[:5]]
    more = f" and {len(objects) - 5} more" if len(objects) > 5 else ""
    return f"It is still used by {', '.join(names)}{more}. Change or remove those first."

