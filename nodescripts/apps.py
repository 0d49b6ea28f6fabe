from django.apps import AppConfig


class NodeScriptsConfig(AppConfig):
    name = "nodescripts"
    verbose_name = "Node scripts"
