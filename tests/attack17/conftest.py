"""The aid tests' helpers (students of any stage on the Pengshui rule book) for the outside attack on issue 17."""

from tests.subsidies.conftest import _pengshui_table, make_student  # noqa: F401
