from datetime import date

import pghistory.models
import pytest
from django.apps import apps
from django.core.exceptions import ValidationError

from students import id_numbers

# A published sample number from GB 11643 examples: 11010519491231002X (female, born 1949-12-31).
SAMPLE = "11010519491231002X"


def test_parses_a_valid_number():
    parsed = id_numbers.parse(SAMPLE)
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.sex == "F"
    assert parsed.division_code == "110105"


def test_lowercase_x_and_spaces_are_normalized():
    assert id_numbers.parse(" 11010519491231002x ").value == SAMPLE


@pytest.mark.parametrize("last", "0123456789")
def test_wrong_check_digit_is_refused(last):
    with pytest.raises(ValidationError) as exc:
        id_numbers.parse(SAMPLE[:17] + last)
    assert exc.value.code == "check"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("1101051949123100", "length"),
        ("11010519491231002XX", "length"),
        ("1101051949123A002X", "shape"),
        ("110105194913310020", "birth"),  # month 13
    ],
)
def test_malformed_numbers_are_refused_with_a_reason(raw, code):
    with pytest.raises(ValidationError) as exc:
        id_numbers.parse(raw)
    assert exc.value.code == code


def test_birth_date_in_the_future_is_refused():
    future = id_numbers.make("360730", date(2030, 1, 1), 11)
    with pytest.raises(ValidationError) as exc:
        id_numbers.parse(future, today=date(2026, 11, 25))
    assert exc.value.code == "future"


def test_make_builds_numbers_that_parse_with_the_right_sex():
    male = id_numbers.make("360730", date(2015, 6, 1), 13)
    female = id_numbers.make("360730", date(2015, 6, 1), 14)
    assert id_numbers.parse(male).sex == "M"
    assert id_numbers.parse(female).sex == "F"


def test_mask_keeps_first_four_and_last_four():
    assert id_numbers.mask("360730201001011234") == "3607**********1234"
    assert id_numbers.mask("") == ""


MASKED_APPS = ("students", "dropout_control", "nutrition", "subsidies")


def test_every_model_with_an_id_number_masks_it_through_the_one_mixin():
    models_with_id_numbers = [
        model
        for model in apps.get_models()
        if model._meta.app_label in MASKED_APPS
        and not issubclass(model, pghistory.models.Event)  # history rows are not shown on their own
        and any(f.name == "id_number" for f in model._meta.get_fields())
    ]
    assert models_with_id_numbers
    for model in models_with_id_numbers:
        assert issubclass(model, id_numbers.MaskedIdNumberMixin), model
        assert "masked_id_number" not in vars(model), f"{model.__name__} masks the number a second way"
        assert model(id_number="360730201001011234").masked_id_number == "3607**********1234"
