"""The periodic reaper as a django-q2 schedule: every minute, queue again the active jobs whose
worker stopped renewing its lease. (Each qcluster also reaps every FERRY_JOBS_REAP_SECONDS.)"""
from django.db import migrations

NAME = "Resume jobs whose worker was lost"


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME,
        defaults={"func": "jobs.tasks.reap_expired_jobs", "schedule_type": "I", "minutes": 1, "repeats": -1},
    )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(create, remove)]
