"""The standard bank result format (成功 paid; 失败, 不成功 failed) as the county's default; the county adds
its banks' own formats (values or codes) in the admin or through /api/subsidies/bank-result-formats/."""

from django.db import migrations


def load(apps, schema_editor):
    from subsidies.models.bank import STANDARD_FORMAT

    Format = apps.get_model("subsidies", "BankResultFormat")
    if not Format.objects.filter(is_default=True).exists():
        Format.objects.update_or_create(name=STANDARD_FORMAT["name"], defaults=STANDARD_FORMAT)


def unload(apps, schema_editor):
    from subsidies.models.bank import STANDARD_FORMAT

    apps.get_model("subsidies", "BankResultFormat").objects.filter(name=STANDARD_FORMAT["name"]).delete()


class Migration(migrations.Migration):
    dependencies = [("subsidies", "0007_bank_files_and_result_formats")]

    operations = [migrations.RunPython(load, unload)]
