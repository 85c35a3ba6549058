import pytest
from django.contrib.auth import get_user_model
from django_celery_beat.models import IntervalSchedule, PeriodicTask

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_add_a_periodic_task_in_the_admin_editor(page):
    get_user_model().objects.create_superuser("boss", "boss@example.com", "correct horse")
    IntervalSchedule.objects.create(every=30, period="seconds")

    page.goto("/admin/django_celery_beat/periodictask/add/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "correct horse")
    page.click("input[type=submit]")
    page.fill("#id_name", "Summary every half minute")
    page.select_option("#id_regtask", "ops.summary_record")
    page.select_option("#id_interval", label="every 30 seconds")
    page.click("input[name=_save]")

    page.wait_for_selector("text=was added successfully")
    assert page.locator("#result_list").get_by_text("Summary every half minute").is_visible()
    task = PeriodicTask.objects.get(name="Summary every half minute")
    assert (task.task, task.interval.every, task.enabled) == ("ops.summary_record", 30, True)
