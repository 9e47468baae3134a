"""Entry forms offer "请选择…" as the empty choice, not Django's "---------" (issue 15)."""

from __future__ import annotations

import pytest

from nutrition.forms import TermForm
from subsidies.forms import LoanForm, OutOfCountyForm, QuotaForm, SocialGrantForm


@pytest.mark.django_db
@pytest.mark.parametrize("form_class", [QuotaForm, OutOfCountyForm, LoanForm, SocialGrantForm, TermForm])
def test_the_empty_choice_reads_please_choose(form_class, school_a):
    html = form_class().as_div()
    assert "---------" not in html
    assert "<select" in html and "请选择…" in html
