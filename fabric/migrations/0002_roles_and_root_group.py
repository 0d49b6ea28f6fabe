from django.db import migrations

ROLES = ("viewer", "operator", "administrator")


def create(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for role in ROLES:
        Group.objects.get_or_create(name=role)
    HostGroup = apps.get_model("fabric", "HostGroup")
    if not HostGroup.objects.filter(parent__isnull=True, name="All Hosts").exists():
        HostGroup.objects.create(name="All Hosts")


def remove(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [("fabric", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create, remove)]
