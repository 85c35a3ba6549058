from django import template

from ..models import DailySummary

register = template.Library()


@register.inclusion_tag("ops/summary.html")
def daily_summary() -> dict:
    """The latest day's summary: `{% load ops %}{% daily_summary %}`."""
    return {"summary": DailySummary.objects.first()}
