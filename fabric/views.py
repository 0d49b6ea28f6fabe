from django.views.generic import ListView

from fabric.models import Host
from fabric.roles import RoleRequiredMixin


class ServerListView(RoleRequiredMixin, ListView):
    model = Host
    template_name = "fabric/server_list.html"
