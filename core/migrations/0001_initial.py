"""The audit log moves here from the fabric app. Its table keeps its name (fabric_auditentry), so
this only tells Django's model state where the model lives now; the fabric app's migration that
made the table runs first, and the content type follows (with its permissions and admin log rows).
"""
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def move_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    if not ContentType.objects.using(db).filter(app_label="core", model="auditentry").exists():
        ContentType.objects.using(db).filter(app_label="fabric", model="auditentry").update(app_label="core")


def move_content_type_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    if not ContentType.objects.using(db).filter(app_label="fabric", model="auditentry").exists():
        ContentType.objects.using(db).filter(app_label="core", model="auditentry").update(app_label="fabric")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("fabric", "0005_merge_credssp_and_library"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditEntry",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                                   verbose_name="ID")),
                        ("time", models.DateTimeField(auto_now_add=True, db_index=True)),
                        ("username", models.CharField(blank=True, max_length=150)),
                        ("action", models.CharField(choices=[("create", "Created"), ("change", "Changed"),
                                                             ("delete", "Deleted"), ("action", "Action")],
                                                    max_length=10)),
                        ("object_type", models.CharField(max_length=100)),
                        ("object_id", models.CharField(blank=True, max_length=64)),
                        ("object_repr", models.CharField(blank=True, max_length=200)),
                        ("detail", models.TextField(blank=True)),
                        ("source_address", models.GenericIPAddressField(blank=True, null=True)),
                        ("user", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                                   to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "verbose_name_plural": "audit entries",
                        "db_table": "fabric_auditentry",
                        "ordering": ["-time", "-id"],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
