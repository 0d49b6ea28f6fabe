"""The audit log moved from the fabric app to core without losing a row, and no model change is
left without its migration."""
import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE_THE_MOVE = [("fabric", "0005_merge_credssp_and_library"), ("core", None)]


@pytest.mark.django_db
def test_every_model_change_has_its_migration():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)  # exits non-zero on a missing one


@pytest.mark.django_db(transaction=True)
def test_an_existing_database_keeps_its_audit_rows_and_their_content_type():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE_THE_MOVE)
    old = executor.loader.project_state(BEFORE_THE_MOVE[0]).apps
    old.get_model("fabric", "AuditEntry").objects.create(
        username="ada", action="change", object_type="cluster", object_repr="HVC1", detail="Name: HV1 → HVC1")
    ContentType = old.get_model("contenttypes", "ContentType")
    kept_id = ContentType.objects.get_or_create(app_label="fabric", model="auditentry")[0].pk

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    from django.contrib.contenttypes.models import ContentType as CurrentContentType

    from core.models import AuditEntry

    CurrentContentType.objects.clear_cache()
    assert list(AuditEntry.objects.values_list("username", "detail")) == [("ada", "Name: HV1 → HVC1")]
    assert CurrentContentType.objects.get_for_model(AuditEntry).pk == kept_id  # permissions still point at it
    assert not CurrentContentType.objects.filter(app_label="fabric", model="auditentry").exists()
