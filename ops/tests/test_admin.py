import re
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask
from django_celery_results.models import TaskResult

from image_parroter.tests.waiting import budget, wait_for
from ops import heartbeat, redis_client
from ops.admin import PERIODIC_TASKS, in_zone, next_run_time
from ops.schedules import schedules_create

CHANGELIST = "/admin/django_celery_beat/periodictask/"
RESULTS = "/admin/django_celery_results/taskresult/"
# What beat logs when it reads the schedule again after an edit.
SCHEDULE_CHANGED = "DatabaseScheduler: Schedule changed."
MIGRATION_SCHEDULES = {
    "Beat heartbeat": ("ops.heartbeat_record", "every 10 seconds"),
    "Sweep lost jobs": ("ops.jobs_sweep_lost", "every 30 seconds"),
    "Purge expired thumbnail jobs": ("thumbnailer.jobs_purge_expired", "5 * * * *"),
    "Daily summary": ("ops.summary_record", "10 0 * * *"),
    "Purge old run history": ("ops.run_history_purge", "30 4 * * *"),
}


@pytest.fixture
def staff_client(client):
    staff = get_user_model().objects.create_user("staff", password="pw", is_staff=True)
    staff.user_permissions.set(
        django_apps.get_model("auth", "Permission").objects.filter(
            content_type__app_label__in=["django_celery_beat", "django_celery_results"]
        )
    )
    client.force_login(staff)
    return client


def schedule_text(task: PeriodicTask) -> str:
    if task.interval:
        return str(task.interval)
    cron = task.crontab
    return f"{cron.minute} {cron.hour} {cron.day_of_month} {cron.month_of_year} {cron.day_of_week}"


def admin_form_data(client, url: str, **changes) -> dict:
    """The admin form's own fields and values as the page shows them, with `changes`."""
    form = client.get(url).context["adminform"].form
    data = {}
    for field in form:
        value = field.value()
        if value is None or field.name in ("start_time", "last_run_at", "expires"):
            continue
        if isinstance(value, bool):
            if value:
                data[field.html_name] = "on"
            continue
        data[field.html_name] = value
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def admin_add_periodic_task(client, **fields) -> PeriodicTask:
    data = admin_form_data(client, CHANGELIST + "add/", **fields)
    response = client.post(CHANGELIST + "add/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    return PeriodicTask.objects.get(name=fields["name"])


def runs_of(name: str) -> int:
    return TaskResult.objects.filter(periodic_task_name=name, status="SUCCESS").count()


def listed(page: str, name: str) -> tuple[str, str]:
    """The last run and next run the changelist shows for the task named `name`."""
    row = re.search(
        rf'>{re.escape(name)}</a></th>.*?<td class="field-last_run">(.*?)</td>'
        r'.*?<td class="field-next_run">(.*?)</td>',
        page,
        re.DOTALL,
    )
    assert row, f"no row for {name}"
    return row.group(1), row.group(2)


def crontab_task(minute: str, hour: str, zone: str = "UTC") -> PeriodicTask:
    crontab = CrontabSchedule(minute=minute, hour=hour, timezone=ZoneInfo(zone))
    return PeriodicTask(name="cron", task="ops.summary_record", crontab=crontab)


def at(*fields) -> datetime:
    return datetime(*fields, tzinfo=UTC)


@pytest.mark.parametrize(
    ("minute", "hour", "now", "expected"),
    [
        # The three that showed 4:29, 0:09 and a minute early.
        ("30", "4", at(2026, 12, 2, 4, 29, 59, 999999), at(2026, 12, 2, 4, 30)),
        ("30", "4", at(2026, 12, 2, 4, 30, 0, 1), at(2026, 12, 3, 4, 30)),
        ("30", "4", at(2026, 12, 2, 15, 12, 7), at(2026, 12, 3, 4, 30)),
        ("10", "0", at(2026, 12, 31, 23, 59, 59), at(2027, 1, 1, 0, 10)),
        ("10", "0", at(2026, 12, 2, 0, 9, 0, 500000), at(2026, 12, 2, 0, 10)),
        ("5", "*", at(2026, 12, 2, 15, 4, 59, 999999), at(2026, 12, 2, 15, 5)),
        ("5", "*", at(2026, 12, 2, 15, 5, 1), at(2026, 12, 2, 16, 5)),
        ("5", "*", at(2026, 12, 2, 23, 30), at(2026, 12, 3, 0, 5)),
    ],
)
def test_a_crontabs_next_run_is_its_next_matching_minute_exactly(minute, hour, now, expected):
    assert next_run_time(crontab_task(minute, hour), None, now) == expected


def test_a_crontabs_next_run_is_in_its_own_zone_across_a_dst_change():
    task = crontab_task("30", "4", "Europe/Warsaw")

    # 04:30 in Warsaw is 03:30 UTC in winter, and 02:30 UTC after the clocks go forward.
    assert next_run_time(task, None, at(2026, 12, 2, 3, 0)) == at(2026, 12, 2, 3, 30)
    spring = next_run_time(task, None, at(2026, 3, 28, 4, 0))
    assert spring == at(2026, 3, 29, 2, 30)
    assert in_zone(spring, task.crontab.timezone) == "2026-03-29 04:30:00 CEST"


def test_an_intervals_next_run_follows_its_real_last_run_or_is_now():
    every_10_s = IntervalSchedule(every=10, period="seconds")
    task = PeriodicTask(name="tick", task="ops.heartbeat_record", interval=every_10_s)
    now = at(2026, 12, 2, 12, 0, 3, 250000)

    assert next_run_time(task, at(2026, 12, 2, 12, 0, 1, 500000), now) == at(
        2026, 12, 2, 12, 0, 11, 500000
    )
    task.date_changed = at(2026, 12, 2, 12, 0, 2)  # as beat counts it: edited, then not run
    assert next_run_time(task, None, now) == at(2026, 12, 2, 12, 0, 12)
    assert next_run_time(task, now - timedelta(minutes=1), now) == now  # overdue: at once
    task.start_time = at(2026, 12, 24, 18, 0)
    assert next_run_time(task, None, now) == task.start_time


@pytest.mark.django_db
def test_non_staff_get_the_login_page(client):
    client.force_login(get_user_model().objects.create_user("someone", password="pw"))

    response = client.get(CHANGELIST, follow=True)

    assert response.redirect_chain[-1][0].startswith("/admin/login/")
    assert "not authorized to access this page" in response.text


@pytest.mark.django_db
def test_staff_pick_from_the_projects_registered_tasks(staff_client):
    form = staff_client.get(CHANGELIST + "add/").context["adminform"].form
    choices = {name for name, _ in form.fields["regtask"].widget.choices if name}

    # Only what makes sense on a schedule: no job task (they need a job's id), no celery.*
    assert choices == set(PERIODIC_TASKS)
    assert {name for name, _ in MIGRATION_SCHEDULES.values()} == choices


@pytest.mark.django_db
def test_a_task_that_needs_a_jobs_id_is_refused_with_a_reason(staff_client):
    data = admin_form_data(
        staff_client, CHANGELIST + "add/", name="Run a job", task="thumbnailer.job_run"
    )
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    data["interval"] = every_minute.pk

    response = staff_client.post(CHANGELIST + "add/", data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["task"]
    assert errors[0].startswith("Only the project's periodic tasks can be scheduled")
    assert not PeriodicTask.objects.filter(name="Run a job").exists()


def test_the_list_shows_each_tasks_last_run_outcome_next_run_and_history(schedules, staff_client):
    TaskResult.objects.create(
        task_id="run-1",
        task_name="ops.summary_record",
        periodic_task_name="Daily summary",
        status="FAILURE",
    )
    page = staff_client.get(CHANGELIST).text

    for column in ("Last run", "Outcome of its last recorded run", "Next run"):
        assert column in page
    assert '?periodic_task_name=Daily+summary">FAILURE</a>' in page
    assert page.count("none recorded") == len(MIGRATION_SCHEDULES) - 1
    assert "never" in page  # no run yet


def test_the_last_run_is_the_recorded_one_and_the_heartbeats_is_its_tick(schedules, staff_client):
    """Beat writes last_run_at back only every few minutes: the list must not say "never"
    beside a recorded run."""
    assert PeriodicTask.objects.get(name="Sweep lost jobs").last_run_at is None
    run = TaskResult.objects.create(
        task_id="run-1",
        task_name="ops.jobs_sweep_lost",
        periodic_task_name="Sweep lost jobs",
        status="SUCCESS",
    )
    redis_client.client().set(heartbeat.tick_key(), at(2026, 12, 2, 12, 0, 1, 500000).timestamp())

    page = staff_client.get(CHANGELIST).text

    started = run.date_created
    assert listed(page, "Sweep lost jobs") == (
        in_zone(started),
        in_zone(started + timedelta(seconds=30)),
    )
    assert listed(page, "Beat heartbeat")[0] == "2026-12-02 12:00:01 UTC"
    assert listed(page, "Daily summary")[0] == "never"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_task_added_in_the_admin_runs_within_15_s_and_stops_when_disabled(
    staff_client, beat_factory, celery_worker
):
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period="seconds")
    with beat_factory() as log:
        task = admin_add_periodic_task(
            staff_client,
            name="Purge from the admin",
            regtask="ops.run_history_purge",
            interval=every_second.pk,
        )
        assert wait_for(lambda: runs_of(task.name), timeout=15)
        history = staff_client.get(RESULTS, {"periodic_task_name": task.name})
        assert "ops.run_history_purge" in history.text and celery_worker in history.text

        rereads = log.read_text().count(SCHEDULE_CHANGED)
        staff_client.post(CHANGELIST, {"action": "disable_tasks", "_selected_action": task.pk})
        assert not PeriodicTask.objects.get(pk=task.pk).enabled
        # Beat re-reads the schedule at least every 5 s; what it sent before that may still run.
        assert wait_for(lambda: log.read_text().count(SCHEDULE_CHANGED) > rereads, timeout=15)
        sent = log.read_text().count(f"Sending due task {task.name} (")
        assert wait_for(lambda: runs_of(task.name) >= sent, timeout=15)
        runs = runs_of(task.name)
        time.sleep(budget(3))  # three of its 1 s intervals
        assert runs_of(task.name) == runs
        assert log.read_text().count(f"Sending due task {task.name} (") == sent


@pytest.mark.django_db
def test_the_migration_made_the_projects_schedules():
    """As `migrate` left the test database: pytest-django runs the tests that roll back before
    those that flush the tables."""
    tasks = PeriodicTask.objects.filter(name__in=MIGRATION_SCHEDULES)
    assert {t.name: (t.task, schedule_text(t)) for t in tasks} == MIGRATION_SCHEDULES


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_admins_edit_survives_beat_restarts_and_deploys(schedules, staff_client, beat_factory):
    sweep = PeriodicTask.objects.get(name="Sweep lost jobs")
    every_5_minutes, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    url = f"{CHANGELIST}{sweep.pk}/change/"
    response = staff_client.post(
        url, admin_form_data(staff_client, url, interval=every_5_minutes.pk, enabled=None)
    )
    assert response.status_code == 302

    for _start_and_restart in range(2):
        with beat_factory(loglevel="DEBUG") as log:
            # Beat loads its schedule from the database on its first tick.
            assert wait_for(lambda: "DatabaseScheduler: initial read" in log.read_text(), 15)
    # Were a deploy to create the schedules again, get_or_create would leave the edit alone.
    schedules_create(apps=django_apps)

    sweep.refresh_from_db()
    assert (sweep.interval, sweep.enabled) == (every_5_minutes, False)
    assert PeriodicTask.objects.filter(name__in=MIGRATION_SCHEDULES).count() == 5


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_health_reports_beats_tick(schedules, client, beat_factory):
    redis_client.client().delete(heartbeat.tick_key())
    assert client.get("/health").json()["beat_seconds_since_tick"] is None

    with beat_factory():
        tick = wait_for(lambda: client.get("/health").json()["beat_seconds_since_tick"], 15)

    assert tick is not None and tick < 15


@pytest.mark.worker
def test_beat_adds_no_schedule_of_its_own(schedules, beat_factory):
    """The DatabaseScheduler would add celery.backend_cleanup (results expire): not here."""
    with beat_factory() as log:
        assert wait_for(lambda: "Sending due task" in log.read_text(), timeout=30)
    assert set(PeriodicTask.objects.values_list("name", flat=True)) == set(MIGRATION_SCHEDULES)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_list_holds_the_real_last_and_next_run_of_a_running_schedule(
    staff_client, beat_factory
):
    every_3_s, _ = IntervalSchedule.objects.get_or_create(every=3, period="seconds")
    task = PeriodicTask.objects.create(
        name="Purge every 3 s", task="ops.run_history_purge", interval=every_3_s
    )
    beats = PeriodicTask.objects.create(
        name="Heartbeat every 3 s", task="ops.heartbeat_record", interval=every_3_s
    )

    def started() -> list[datetime]:
        return list(
            TaskResult.objects.filter(periodic_task_name=task.name)
            .order_by("date_created")
            .values_list("date_created", flat=True)
        )

    with beat_factory():
        # Just after a run began, the next one is 3 s away: the page is read well before.
        assert wait_for(lambda: len(started()) >= 2, timeout=20)
        count = len(started())
        assert wait_for(lambda: len(started()) > count, timeout=10)
        tick_before = heartbeat.last_tick()
        page = staff_client.get(CHANGELIST).text
        tick_after = heartbeat.last_tick()
        last = started()[-1]
        predicted = last + timedelta(seconds=3)

        # Beat wrote none of these runs back to last_run_at yet (it does every few minutes).
        assert PeriodicTask.objects.get(pk=task.pk).last_run_at is None
        assert listed(page, task.name) == (in_zone(last), in_zone(predicted))
        ticks = {in_zone(datetime.fromtimestamp(tick, UTC)) for tick in (tick_before, tick_after)}
        assert listed(page, beats.name)[0] in ticks

        # And the next run does begin then.
        assert wait_for(lambda: len(started()) > count + 1, timeout=10)
        following = started()[count + 1]
        assert abs((following - predicted).total_seconds()) < budget(1)
