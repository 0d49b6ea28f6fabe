from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app shares: roles, the audit log, navigation, the generic views."""

    name = "core"

    def ready(self):
        from django.contrib import admin

        from core.audit import connect_signals

        connect_signals()
        # Admin deletions must each leave an audit row; the bulk action writes its log in one
        # statement that no signal sees, so it is off and objects are deleted one at a time.
        admin.site.disable_action("delete_selected")
