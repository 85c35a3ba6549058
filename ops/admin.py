from django import forms
from django.contrib import admin
from django.db.models import OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_celery_beat.admin import PeriodicTaskAdmin, PeriodicTaskForm
from django_celery_beat.models import PeriodicTask
from django_celery_results.models import TaskResult

from .models import DailySummary

# The tasks that make sense on a schedule: they take no arguments, while every other task
# works on one job and needs its id.
PERIODIC_TASKS = (
    "ops.heartbeat_record",
    "ops.jobs_sweep_lost",
    "ops.summary_record",
    "ops.run_history_purge",
    "thumbnailer.jobs_purge_expired",
)


@admin.register(DailySummary)
class DailySummaryAdmin(admin.ModelAdmin):
    list_display = ["day", "users", "jobs", "failures", "recorded_at"]
    date_hierarchy = "day"


class ScheduleForm(PeriodicTaskForm):
    """django-celery-beat's form, offering and accepting only the project's periodic tasks."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "---------"), *((name, name) for name in PERIODIC_TASKS)]
        self.fields["regtask"].widget = forms.Select(choices=choices)

    def clean(self):
        data = super().clean()
        if data.get("task") not in PERIODIC_TASKS:
            names = ", ".join(PERIODIC_TASKS)
            self.add_error(
                "task",
                gettext(
                    "Only the project's periodic tasks can be scheduled (%(names)s): every "
                    "other task works on one job and needs its id."
                )
                % {"names": names},
            )
        return data


admin.site.unregister(PeriodicTask)


@admin.register(PeriodicTask)
class ScheduleAdmin(PeriodicTaskAdmin):
    """The periodic tasks, with each one's last run, its outcome, the next run and a link to
    its run history (Task results)."""

    form = ScheduleForm
    list_display = ["name", "enabled", "task", "scheduler", "last_run", "outcome", "next_run"]

    def get_queryset(self, request):
        latest = TaskResult.objects.filter(periodic_task_name=OuterRef("name")).order_by(
            "-date_done"
        )
        return (
            super()
            .get_queryset(request)
            .annotate(last_status=Subquery(latest.values("status")[:1]))
        )

    @admin.display(description=_("last run"), ordering="last_run_at")
    def last_run(self, task):
        return task.last_run_at or gettext("never")

    @admin.display(description=_("outcome of its last recorded run"))
    def outcome(self, task):
        history = reverse("admin:django_celery_results_taskresult_changelist")
        query = urlencode({"periodic_task_name": task.name})
        label = task.last_status or gettext("none recorded")
        return format_html('<a href="{}?{}">{}</a>', history, query, label)

    @admin.display(description=_("next run"))
    def next_run(self, task):
        if not task.enabled:
            return gettext("disabled")
        now = timezone.now()
        try:
            remaining = task.schedule.remaining_estimate(task.last_run_at or now)
        except (AttributeError, TypeError, ValueError):
            return "?"
        return max(now, now + remaining).replace(microsecond=0)
