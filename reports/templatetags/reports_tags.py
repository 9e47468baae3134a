from decimal import Decimal

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma

from reports import yearend

register = template.Library()


@register.filter
def figure(cell: dict) -> str:
    """A figure as the papers print it: counts with separators, yuan with fen, rates as percentages."""
    if cell.get("text") is not None:
        return cell["text"]  # a text figure, or the reason a figure is missing ("缺人口数据")
    value = cell.get("value")
    if value is None:
        return "—"
    if cell.get("kind") == yearend.MONEY:
        amount = Decimal(value)
        return f"{intcomma(f'{amount:.2f}')} 元（{amount / 10000:.5f} 万元）"
    if cell.get("kind") == yearend.RATE:
        return f"{Decimal(value) * 100:.1f}%"
    return intcomma(value)


@register.filter
def figure_of(difference: dict, side: str) -> str:
    """One side ("published" or "draft") of a difference between two builds, printed as `figure` prints it."""
    return figure({"kind": difference["kind"], "value": difference[side]})
