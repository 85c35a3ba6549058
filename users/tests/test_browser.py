import re

import pytest
from playwright.sync_api import expect

from users.models import UserBatch


@pytest.mark.browser
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_generate_watch_the_batch_reach_100_and_find_the_new_users(page, celery_worker, settings):
    # A batch big enough to be watched for a few seconds (the live server uses these settings).
    settings.USERS_GENERATE_MAX = 30_000
    page.goto("/users/generate/")
    page.get_by_label("How many users").fill("30000")
    page.get_by_role("button", name="Generate").click()

    expect(page).to_have_url(re.compile(r"/users/$"))
    expect(page.locator(".message[role=status]")).to_have_text("30,000 users are on their way.")
    batch = UserBatch.objects.get()
    bar = page.locator(f"#batch-{batch.pk}")
    expect(bar).to_have_attribute("data-follow", f"/users/batches/{batch.pk}/")  # unfinished
    expect(bar.locator(".job-progress")).to_have_attribute("data-status", "done", timeout=60_000)
    expect(bar).to_contain_text("30,000 of 30,000 users")
    expect(bar.get_by_role("progressbar")).to_have_attribute("value", "100")
    # "on their way" is no longer true: it went away.
    expect(page.get_by_text("30,000 users are on their way.")).to_have_count(0)

    # The table reloads itself when the batch is done: the new users are listed and found.
    newest = batch.users.order_by("-id").first()
    table = page.get_by_role("region", name="User list")
    expect(table.get_by_role("cell", name=newest.username, exact=True)).to_be_visible()
    table.get_by_role("searchbox", name="Search users").fill(newest.username)
    table.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"q=" + newest.username))
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table.get_by_role("cell", name=f"{newest.username}@example.com")).to_be_visible()


@pytest.mark.browser
@pytest.mark.django_db
def test_out_of_bounds_total_is_refused_with_the_bounds_message(page):
    page.goto("/users/generate/")
    field = page.get_by_label("How many users")
    # Skip the browser's own min/max check to see what the server says.
    field.evaluate("input => input.form.noValidate = true")
    field.fill("501")
    page.get_by_role("button", name="Generate").click()
    summary = page.get_by_role("alert")
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    expect(summary.get_by_role("listitem")).to_have_text("Enter a whole number from 50 to 500.")
    expect(page).to_have_title("Error: Generate users · image_parroter")
    expect(page.get_by_label("How many users")).to_have_attribute("aria-invalid", "true")
    assert not UserBatch.objects.exists()
