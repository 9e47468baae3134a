"""Factories of dropout control: cases are written through the service so that their ledger period exists."""

from __future__ import annotations

from datetime import date

from dropout_control import services
from dropout_control.models import DropoutCase
from portal.models import User
from tests.factories import UserFactory, make_id_number


def bureau_user():
    # Looked up first: building a UserFactory hashes its password, which is slow on purpose.
    return User.objects.filter(username="dropout_factory_bureau").first() or UserFactory(
        username="dropout_factory_bureau", role=User.Role.BUREAU
    )


def open_case(*, township, school=None, by=None, found_on=date(2025, 3, 3), birth=date(2014, 5, 1), **kw):
    fields = {
        "id_number": make_id_number(birth),
        "name": "王小二",
        "village": "上坪村",
        "found_by": DropoutCase.FoundBy.TOWNSHIP_SURVEY,
        "reason": DropoutCase.Reason.FAMILY_HARDSHIP,
    }
    fields.update(kw)
    return services.case_open(
        by=by or bureau_user(), township=township, school=school, found_on=found_on, **fields
    )
