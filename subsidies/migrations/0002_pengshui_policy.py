"""Load the Pengshui 2022 aid policy table as the default rule book (bureau staff edit it afterwards)."""

from django.db import migrations


def load(apps, schema_editor):
    from subsidies.pengshui import load

    load(apps.get_model("subsidies", "AidPolicy"))


def unload(apps, schema_editor):
    from subsidies.pengshui import SOURCE

    apps.get_model("subsidies", "AidPolicy").objects.filter(source=SOURCE, payments__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("subsidies", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]
