"""Settings › API tokens: a user's own tokens. A new token is shown once, on the page that made it."""
from django import forms
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.views import View

from api.models import ApiToken
from api.tables import TokenTable
from core import audit
from core.audit import AuditAction
from core.roles import RoleRequiredMixin
from core.views.generic import export_response, paginated


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What will use it, e.g. “nightly patch script”")


def _page(request, form, token: str = "", status: int = 200):
    table = paginated(request, TokenTable(ApiToken.objects.filter(user=request.user), request=request))
    return TemplateResponse(request, "api/token_list.html",
                            {"form": form, "table": table, "new_token": token, "title": "API tokens"}, status=status)


class TokenListView(RoleRequiredMixin, View):
    def get(self, request):
        page = _page(request, TokenForm())
        return export_response(request, page.context_data["table"], "api-tokens") or page

    def post(self, request):
        form = TokenForm(request.POST)
        if not form.is_valid():
            return _page(request, form, status=400)
        with transaction.atomic():
            row, token = ApiToken.issue(request.user, form.cleaned_data["name"])
            audit.record(request, AuditAction.CREATE, row, "API token created")
        return _page(request, TokenForm(), token=token)


class TokenRevokeView(RoleRequiredMixin, View):
    def post(self, request, pk):
        row = get_object_or_404(ApiToken, pk=pk, user=request.user)
        with transaction.atomic():
            if row.revoke():
                audit.record(request, AuditAction.ACTION, row, "API token revoked")
        return redirect("api:token_list")
