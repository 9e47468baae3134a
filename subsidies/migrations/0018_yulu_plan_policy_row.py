from django.db import migrations


def yulu_plan_row(apps, schema_editor):
    """The 雨露计划 row of the policy table (issue 17), on a database whose table was loaded before the row was
    part of it (`pengshui.load` loads it on a new one). Idempotent: a row the county added by hand stays."""
    from subsidies import pengshui

    pengshui.load_rows(apps.get_model("subsidies", "AidPolicy"), pengshui.YULU_PLAN_ROWS)


class Migration(migrations.Migration):
    dependencies = [
        ("subsidies", "0017_new_history_without_foreign_key_indexes"),
    ]

    operations = [migrations.RunPython(yulu_plan_row, migrations.RunPython.noop)]
