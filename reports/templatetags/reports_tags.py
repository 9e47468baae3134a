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


@register.filter
def yuan(value) -> str:
    """Money with thousands separators and fen: 85500 -> "85,500.00"."""
    if value in (None, ""):
        return "—"
    return intcomma(f"{Decimal(str(value)):.2f}")


@register.simple_tag
def bar_chart(
    rows, value: str, label: str = "label", compare: str = "", title: str = "", compare_title: str = ""
):
    """A horizontal bar chart as inline SVG, drawn on the server (no script, no CDN): one bar per row of
    `rows[value]`, and a thin bar of `rows[compare]` under it when given (e.g. at the start of the year)."""
    from django.utils.html import format_html
    from django.utils.safestring import mark_safe

    rows = list(rows)
    if not rows:
        return ""
    numbers = [Decimal(str(r.get(value) or 0)) for r in rows]
    others = [Decimal(str(r.get(compare) or 0)) for r in rows] if compare else []
    top = max([*numbers, *others, Decimal(1)])
    row_h, label_w, bar_w, text_w = (26 if compare else 20), 110, 200, 70
    width, height = label_w + bar_w + text_w, row_h * len(rows) + 4
    parts = [
        format_html(
            '<svg class="chart" role="img" viewBox="0 0 {} {}" width="100%" preserveAspectRatio="xMinYMin meet"'
            ' aria-label="{}"><title>{}</title>',
            width,
            height,
            title,
            title,
        )
    ]
    for n, row in enumerate(rows):
        y = n * row_h + 2
        w = int(bar_w * numbers[n] / top)
        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="end" class="chart-label">{}</text>'
                '<rect x="{}" y="{}" width="{}" height="12" class="chart-bar"><title>{}: {}</title></rect>'
                '<text x="{}" y="{}" class="chart-value">{}</text>',
                label_w - 6,
                y + 11,
                row.get(label),
                label_w,
                y,
                max(w, 1),
                row.get(label),
                intcomma(row.get(value)),
                label_w + max(w, 1) + 4,
                y + 11,
                intcomma(row.get(value)),
            )
        )
        if compare:
            c = int(bar_w * others[n] / top)
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="5" class="chart-compare"><title>{}: {}</title></rect>',
                    label_w,
                    y + 14,
                    max(c, 1),
                    compare_title,
                    intcomma(row.get(compare)),
                )
            )
    parts.append(mark_safe("</svg>"))
    return mark_safe("".join(str(p) for p in parts))
