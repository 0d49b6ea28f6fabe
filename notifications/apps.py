from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self):
        from jobs import signals
        from notifications import events

        signals.job_finished.connect(events.job_finished, dispatch_uid="ferry-notify-finished")
        signals.job_needs_attention.connect(events.job_needs_attention, dispatch_uid="ferry-notify-attention")
