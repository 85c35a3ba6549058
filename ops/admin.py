from datetime import UTC, datetime, tzinfo

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AdminSplitDateTime
from django.db import models
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

from . import heartbeat, redis_client
from .models import DailySummary
from .tasks import heartbeat_record

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


class LabelledSplitDateTime(AdminSplitDateTime):
    """The admin's date and time inputs, each labelled: Django's own labels only the date."""

    template_name = "ops/split_datetime.html"


def next_run_time(task: PeriodicTask, last_run: datetime | None, now: datetime) -> datetime:
    """When beat sends `task` next (enabled, not before its start time): a crontab's first
    matching minute after now, in the crontab's own time zone; an interval's length after its
    real last run (with none, after its last edit, as beat counts it); at once if that is
    past; a clocked task's time.

    Not `schedule.remaining_estimate(task.last_run_at)`: django-celery-beat writes
    last_run_at back only every few minutes, and the estimate, added to a `now` read a moment
    earlier, lands a fraction of a second before the minute, shown as the minute before."""
    start = max(now, task.start_time) if task.start_time else now
    if task.crontab:
        base, delta = task.schedule.remaining_delta(start)[:2]
        return base + delta
    if task.interval:
        # With no run yet, beat counts from the last edit, or sends it at its start time.
        since = last_run or (None if task.start_time else task.date_changed)
        return max(start, since + task.schedule.run_every) if since else start
    if task.clocked:
        return task.clocked.clocked_time
    return start + task.schedule.remaining_estimate(start)  # solar


def in_zone(when: datetime, zone: tzinfo | None = None) -> str:
    """A time to the second, with its zone (the current one unless `zone` is given)."""
    return timezone.localtime(when, zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def heartbeat_tick() -> datetime | None:
    try:
        tick = heartbeat.last_tick()
    except redis_client.ERRORS:
        return None
    return None if tick is None else datetime.fromtimestamp(tick, UTC)


admin.site.unregister(PeriodicTask)


@admin.register(PeriodicTask)
class ScheduleAdmin(PeriodicTaskAdmin):
    """The periodic tasks, with each one's last run, its outcome, the next run and a link to
    its run history (Task results)."""

    form = ScheduleForm
    change_form_template = "ops/periodic_task_form.html"
    formfield_overrides = {models.DateTimeField: {"widget": LabelledSplitDateTime}}
    list_display = ["name", "enabled", "task", "scheduler", "last_run", "outcome", "next_run"]

    def get_queryset(self, request):
        latest = TaskResult.objects.filter(periodic_task_name=OuterRef("name")).order_by(
            "-date_created"
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                last_status=Subquery(latest.values("status")[:1]),
                last_recorded=Subquery(latest.values("date_created")[:1]),
            )
        )

    def real_last_run(self, task) -> datetime | None:
        """The start of its last recorded run; for the heartbeat, whose successes are not
        recorded, its last tick if later. Beat's own last_run_at (written back only every few
        minutes) only when there is no history (purged after RUN_HISTORY_DAYS)."""
        runs = [task.last_recorded]
        if task.task == heartbeat_record.name:
            runs.append(heartbeat_tick())
        runs = [run for run in runs if run]
        return max(runs) if runs else task.last_run_at

    @admin.display(description=_("last run"), ordering="last_recorded")
    def last_run(self, task):
        last = self.real_last_run(task)
        return in_zone(last) if last else gettext("never")

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
        when = next_run_time(task, self.real_last_run(task), timezone.now())
        return in_zone(when, task.crontab.timezone if task.crontab else None)
