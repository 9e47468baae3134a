"""The aid tests' fixtures (the Pengshui table, students of any stage), reused by the attack tests."""

from tests.subsidies.conftest import _pengshui_table, make_student  # noqa: F401
