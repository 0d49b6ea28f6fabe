"""Settings › Run As accounts (administrators only). Pages never decrypt a stored password."""
from django.db.models import BooleanField, ExpressionWrapper, Q

from core.roles import ADMINISTRATOR
from core.views.generic import ObjectCreateView, ObjectDeleteView, ObjectEditView, ObjectListView
from fabric.filters import RunAsAccountFilterSet
from fabric.forms import RunAsAccountForm
from fabric.models import RunAsAccount
from fabric.tables import RunAsAccountTable


def accounts():
    """Accounts with the password column left in the database and only whether one is stored."""
    has_password = ExpressionWrapper(~Q(password=""), output_field=BooleanField())
    return RunAsAccount.objects.defer("password").annotate(has_password=has_password)


class RunAsAccountListView(ObjectListView):
    model = RunAsAccount
    required_role = ADMINISTRATOR
    table_class = RunAsAccountTable
    filterset_class = RunAsAccountFilterSet
    title = "Run As accounts"
    add_url_name = "fabric:runas_add"
    help_text = (
        "Credentials Ferry uses to reach hosts, clusters, BMCs and deployment servers. "
        "Passwords are stored encrypted and never shown."
    )

    def get_queryset(self):
        return accounts()


class RunAsAccountCreateView(ObjectCreateView):
    model = RunAsAccount
    form_class = RunAsAccountForm
    cancel_url_name = "fabric:runas_list"


class RunAsAccountEditView(ObjectEditView):
    model = RunAsAccount
    form_class = RunAsAccountForm

    def get_queryset(self):
        return accounts()


class RunAsAccountDeleteView(ObjectDeleteView):
    model = RunAsAccount
    success_url_name = "fabric:runas_list"

    def get_queryset(self):
        return accounts()
