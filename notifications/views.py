"""Settings › Notifications (a user's subscriptions) and the delivery log (their own deliveries;
an administrator sees everyone's)."""
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.views import View

from core import audit
from core.audit import AuditAction
from core.roles import ADMINISTRATOR, RoleRequiredMixin, has_role
from core.views.generic import ObjectListView, export_response, paginated
from notifications.filters import DeliveryFilterSet
from notifications.forms import SubscriptionForm
from notifications.models import Delivery, Subscription
from notifications.tables import DeliveryTable, SubscriptionTable


class SubscriptionListView(RoleRequiredMixin, View):
    def get(self, request):
        page = self._page(request, SubscriptionForm(user=request.user))
        return export_response(request, page.context_data["table"], "notifications") or page

    def post(self, request):
        form = SubscriptionForm(request.POST, user=request.user)
        if not form.is_valid():
            return self._page(request, form, status=400)
        with transaction.atomic():
            subscription = form.save()
            audit.record(request, AuditAction.CREATE, subscription,
                         f"events: {', '.join(subscription.events)}")
        return redirect("notifications:subscription_list")

    def _page(self, request, form, status=200):
        rows = Subscription.objects.filter(user=request.user).select_related("cluster", "host")
        table = paginated(request, SubscriptionTable(rows, request=request))
        return TemplateResponse(request, "notifications/subscription_list.html",
                                {"title": "Notifications", "form": form, "table": table}, status=status)


class SubscriptionEditView(RoleRequiredMixin, View):
    def get(self, request, pk):
        subscription = get_object_or_404(Subscription, pk=pk, user=request.user)
        return self._page(request, SubscriptionForm(instance=subscription, user=request.user))

    def post(self, request, pk):
        subscription = get_object_or_404(Subscription, pk=pk, user=request.user)
        form = SubscriptionForm(request.POST, instance=subscription, user=request.user)
        if not form.is_valid():
            return self._page(request, form, status=400)
        with transaction.atomic():
            form.save()
            audit.record(
                request, AuditAction.CHANGE, subscription, f"changed: {', '.join(form.changed_names()) or 'nothing'}"
            )
        return redirect("notifications:subscription_list")

    def _page(self, request, form, status=200):
        return TemplateResponse(request, "notifications/subscription_form.html",
                                {"title": "Edit notification", "form": form}, status=status)


class SubscriptionDeleteView(RoleRequiredMixin, View):
    def post(self, request, pk):
        subscription = get_object_or_404(Subscription, pk=pk, user=request.user)
        with transaction.atomic():
            audit.record(request, AuditAction.DELETE, subscription, "")
            subscription.delete()
        return redirect("notifications:subscription_list")


class DeliveryLogView(ObjectListView):
    """One's own deliveries; an administrator's are everyone's (and the export follows the page)."""

    model = Delivery
    template_name = "notifications/delivery_list.html"
    table_class = DeliveryTable
    filterset_class = DeliveryFilterSet
    title = "Notification deliveries"
    count_nouns = ("delivery", "deliveries")

    def everyone(self) -> bool:
        return has_role(self.request.user, ADMINISTRATOR)

    def get_queryset(self):
        rows = Delivery.objects.select_related("user", "job").prefetch_related("attempt_log")
        if not self.everyone():
            rows = rows.filter(user=self.request.user)
        return rows

    def get_table_kwargs(self):
        return {**super().get_table_kwargs(), "everyone": self.everyone()}

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "everyone": self.everyone()}
