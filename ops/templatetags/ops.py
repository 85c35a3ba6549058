from django import template
from django.utils import dateformat, timezone
from django.utils.formats import date_format
from django.utils.html import format_html

from ..models import DailySummary

register = template.Library()


@register.inclusion_tag("ops/summary.html")
def latest_summary() -> dict:
    """The latest day's summary (recorded by ops.summary_record): `{% latest_summary %}`."""
    return {"summary": DailySummary.objects.first()}


@register.simple_tag
def moment(value) -> str:
    """`{% moment value %}`: a <time> in the server's zone and the page's language, the zone
    named; static/localtime.js shows it in the reader's own zone."""
    local = timezone.localtime(value)
    return format_html(
        '<time datetime="{}">{} {}</time>',
        local.isoformat(),
        date_format(local, "DATETIME_FORMAT"),
        dateformat.format(local, "T"),
    )
