"""The audit log now belongs to the core app (core 0001); its table stays where it is."""
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("fabric", "0005_merge_credssp_and_library"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AuditEntry")],
            database_operations=[],
        ),
    ]
