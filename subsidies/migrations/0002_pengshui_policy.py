"""Loaded the first edition of the Pengshui 2022 aid policy table.

The table is now loaded by 0009_pengshui_row_by_row in its current shape (fields this step's schema does not
have yet); databases migrated before ran this step with the first edition, which 0009 revises row by row.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("subsidies", "0001_initial")]

    operations = [migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)]
