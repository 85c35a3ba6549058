from django import template

from ..models import DailySummary

register = template.Library()


@register.inclusion_tag("ops/summary.html")
def latest_summary() -> dict:
    """The latest day's summary (recorded by ops.summary_record): `{% latest_summary %}`."""
    return {"summary": DailySummary.objects.first()}
