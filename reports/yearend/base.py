"""Building blocks of the year-end sections: the period, measures and tables, and a builder that turns
querysets into JSON-ready figures with per-township and per-school breakdowns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from reports.periods import Period, terms_q  # noqa: F401 - the sections import them from here
from students.models import Enrollment, School, Stage

CENT = Decimal("0.01")
RATE_PLACES = Decimal("0.0001")

INT, MONEY, RATE, TEXT = "int", "money", "rate", "text"
# Row keys kept beside a table's measures: why a figure is missing (a code of `reports.rates`), and the details
# of a text measure (`<key>_detail`).
MISSING = "missing"
# The breakdown key of records that belong to no school (or no township): loans of university students, a
# dropout case without a responsible school. The sheets by township and by school print them on a line of
# their own, so that their rows add up to the total.
UNASSIGNED = "none"


# --- Presentation of the sections (labels live in code, figures in the snapshot) ------------------------


@dataclass(frozen=True)
class Measure:
    key: str
    label: str
    kind: str = INT
    # A count that may be unknown (a population): stored as None, never as 0.
    optional: bool = False
    # TEXT measures: stored code -> label.
    choices: Callable[[], dict[str, str]] | None = None


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    dimension: str  # header of the row-label column
    labels: Callable[[], dict[str, str]]  # row key -> label
    measures: tuple[Measure, ...]
    totals: bool = True


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    compute: Callable[[Period], dict]
    tables: tuple[Table, ...]
    # Figures shown per township and per school (sheets by township and by school, drill-down pages).
    headline: tuple[Measure, ...]
    note: str = ""
    # Where a school's records behind the section are listed: a URL name and query parameters.
    list_url: tuple[str, dict[str, str]] | None = None


@dataclass
class Builder:
    """Collects one section's tables and breakdowns, converting money and rates to JSON strings."""

    tables: dict[str, dict] = field(default_factory=dict)
    total: dict[str, object] = field(default_factory=dict)
    by_township: dict[str, dict] = field(default_factory=dict)
    by_school: dict[str, dict] = field(default_factory=dict)

    def table(
        self, name: str, rows: list[dict], *, measures: tuple[Measure, ...], totals: bool = True
    ) -> None:
        total = None
        if totals:
            total = {
                m.key: _sum(m, [row.get(m.key) for row in rows])
                for m in measures
                if m.kind not in (RATE, TEXT)
            }
        self.tables[name] = {
            "rows": [
                {
                    "key": row["key"],
                    **{m.key: _json(m, row.get(m.key)) for m in measures},
                    **{k: v for k, v in row.items() if k == MISSING or k.endswith("_detail")},
                }
                for row in rows
            ],
            "total": {k: _json_kind(v) for k, v in total.items()} if total is not None else None,
        }

    def breakdown(self, level: str, key, values: dict) -> None:
        target = self.by_township if level == "township" else self.by_school
        row = target.setdefault(UNASSIGNED if key is None else str(key), {})
        for name, value in values.items():
            row[name] = _json_kind(value)

    def as_dict(self) -> dict:
        return {
            "tables": self.tables,
            "total": {k: _json_kind(v) for k, v in self.total.items()},
            "by_township": self.by_township,
            "by_school": self.by_school,
        }


def money(value) -> str:
    return str(Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP))


def rate(numerator: int, denominator: int) -> str | None:
    if not denominator:
        return None
    return str((Decimal(numerator) / Decimal(denominator)).quantize(RATE_PLACES, rounding=ROUND_HALF_UP))


def _json_kind(value):
    if isinstance(value, Decimal):
        return money(value)
    return value


def _json(measure: Measure, value):
    if measure.kind == MONEY:
        return money(value)
    if measure.kind in (RATE, TEXT) or (value is None and measure.optional):
        return value
    return int(value or 0)


def cell_text(measure: Measure, row: dict) -> str | None:
    """The words printed for a stored figure that is not a number: a text measure's label and details, or why
    a figure is missing ("缺人口数据"); None for a figure printed as a number."""
    value = row.get(measure.key)
    if measure.kind == TEXT:
        labels = measure.choices() if measure.choices is not None else {}
        text = str(labels.get(value, value or ""))
        detail = row.get(f"{measure.key}_detail")
        return f"{text}（{detail}）" if detail else text
    if value is None and row.get(MISSING):
        from reports.rates import missing_labels

        return str(missing_labels().get(row[MISSING], row[MISSING]))
    return None


def _sum(measure: Measure, values: list):
    if measure.kind == MONEY:
        return sum((Decimal(v or 0) for v in values), Decimal("0"))
    return sum(int(v or 0) for v in values)


def grouped(queryset, group: str, **aggregates) -> dict:
    """{group value: {aggregate name: value}} in one query."""
    return {
        row[group]: {name: row[name] for name in aggregates}
        for row in queryset.values(group).annotate(**aggregates).order_by()
    }


def grouped2(queryset, group: str, dimension: str, measure: str, aggregate) -> dict:
    """{group value: {dimension value: aggregate}} in one query (e.g. schools per township and type)."""
    out: dict = {}
    for row in queryset.values(group, dimension).annotate(**{measure: aggregate}).order_by():
        out.setdefault(row[group], {})[row[dimension]] = row[measure]
    return out


def county_schools(period: Period):
    return School.objects.filter(township__county__code=period.county_code)


def county_register(period: Period):
    """The register's spells at the county's schools (each read on a date by the figures)."""
    return Enrollment.objects.filter(school__township__county__code=period.county_code)


def register_students(period: Period):
    """Students enrolled at the county's schools on the register on the reference date (none for a future
    year)."""
    from reports import figures

    return figures.register_students(county_register(period), period)


def school_types() -> dict[str, str]:
    return dict(School.Type.choices)


def stages() -> dict[str, str]:
    return dict(Stage.choices)
