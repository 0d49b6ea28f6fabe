from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"

    def ready(self):
        from django_q.signals import post_spawn

        from jobs.engine.reaper import start_reaper_thread

        post_spawn.connect(start_reaper_thread, dispatch_uid="ferry-jobs-reaper")
