from datetime import date

from django.db import migrations


def _term_end(school_year: int, term: str) -> date:
    return date(school_year + 1, 1, 31) if term == "autumn" else date(school_year + 1, 7, 31)


def identified_levels(apps, schema_editor):
    """Identified students (a level the county confirmed) qualify for the allowances and fee waivers the paper
    gives to 家庭经济困难学生 as such (`pengshui.IDENTIFIED_AIDS`). A row money was paid under is closed at the
    end of its last paid term and continued with the levels from the next day; the others change in place."""
    from subsidies import pengshui

    Policy = apps.get_model("subsidies", "AidPolicy")
    Payment = apps.get_model("subsidies", "Payment")

    def last_paid_term_end(policy):
        last = (
            Payment.objects.filter(policy_id=policy.pk)
            .order_by("-school_year", "-term")  # "spring" sorts after "autumn": the later term of a year
            .values("school_year", "term")
            .first()
        )
        return _term_end(last["school_year"], last["term"]) if last else None

    pengshui.identified_levels(Policy, last_paid_term_end=last_paid_term_end)


class Migration(migrations.Migration):
    dependencies = [
        ("subsidies", "0018_yulu_plan_policy_row"),
    ]

    operations = [migrations.RunPython(identified_levels, migrations.RunPython.noop)]
