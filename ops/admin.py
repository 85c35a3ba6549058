from django.contrib import admin

from .models import DailySummary


@admin.register(DailySummary)
class DailySummaryAdmin(admin.ModelAdmin):
    list_display = ["day", "users", "jobs", "failures", "recorded_at"]
    date_hierarchy = "day"
