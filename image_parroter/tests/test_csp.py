"""The Content-Security-Policy: what every page carries, and a real Chromium loading each kind
of page (live and final, the admin's too) without one violation of it."""

import re

import pytest
from django.contrib.auth import get_user_model
from django_celery_beat.models import CrontabSchedule, PeriodicTask
from playwright.sync_api import expect

from image_parroter.tests import factories
from image_parroter.tests.processes import manage
from image_parroter.tests.waiting import wait_for
from ops.models import DailySummary
from thumbnailer.models import ThumbnailJob
from thumbnailer.tests.images import image_bytes
from users import services as user_services

# Each violation, as the page's securitypolicyviolation event tells it, goes to the test.
WATCH = """
document.addEventListener("securitypolicyviolation", (event) => {
  const where = location.pathname;
  window.cspViolation(`${event.effectiveDirective} refused ${event.blockedURI} on ${where}`);
});
"""


@pytest.fixture
def violations(page) -> list[str]:
    """What the page reports breaking the policy: its securitypolicyviolation events, and
    Chromium's console messages about the policy (which also name what the events miss)."""
    seen = []
    page.expose_function("cspViolation", lambda text: seen.append(text))
    page.add_init_script(WATCH)
    page.on("console", lambda msg: "Content Security Policy" in msg.text and seen.append(msg.text))
    return seen


def reported(page, violations: list[str]) -> list[str]:
    """The violations so far, once the page has run the tasks that report them."""
    page.evaluate("() => new Promise((resolve) => setTimeout(resolve, 100))")
    return violations


def policy(response) -> dict[str, list[str]]:
    directives = response["Content-Security-Policy"].split(";")
    return {name: values for name, *values in (d.split() for d in directives if d.strip())}


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/users/", "/users/generate/", "/nowhere/", "/admin/login/"])
def test_every_page_carries_a_policy_without_inline_or_eval_scripts(client, path):
    directives = policy(client.get(path))

    assert directives["script-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["style-src"] == ["'self'"]


def test_images_may_come_from_the_object_storage_named_by_its_endpoint():
    code = (
        "from django.conf import settings; "
        "print(*settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src'])"
    )
    plain = manage("shell", "-v", "0", "-c", code, AWS_S3_ENDPOINT_URL=None)
    s3 = manage(
        "shell",
        "-v",
        "0",
        "-c",
        code,
        AWS_S3_ENDPOINT_URL="https://objects.example.com:9000/some/path",
        AWS_STORAGE_BUCKET_NAME="media",
    )

    assert plain.stdout.split() == ["'self'", "data:", "blob:"], plain.stderr
    assert s3.stdout.split()[3:] == [
        "https://objects.example.com:9000",
        "https://media.objects.example.com:9000",
    ], s3.stderr


@pytest.mark.django_db
def test_an_inline_script_is_refused_and_reported(page, violations):
    """The watch can fail: a script's inline code, put in a page, is caught."""
    page.goto("/")
    assert reported(page, violations) == []

    page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.inlineRan = true";
          document.body.append(script);
        }"""
    )

    assert wait_for(lambda: reported(page, violations), timeout=5)
    assert "script-src-elem refused inline on /" in violations, violations
    assert any("Content Security Policy" in seen for seen in violations)  # the console's
    assert page.evaluate("window.inlineRan") is None


@pytest.mark.django_db(transaction=True)
def test_a_visitors_pages_live_and_final_break_no_rule_of_the_policy(page, violations, sent_tasks):
    page.goto("/")
    page.get_by_label("Images").set_input_files(
        [
            {"name": "one.jpg", "mimeType": "image/jpeg", "buffer": image_bytes()},
            {"name": "two.png", "mimeType": "image/png", "buffer": image_bytes("PNG")},
        ]
    )
    previews = page.locator(".chosen-files img")
    expect(previews).to_have_count(2)
    for preview in previews.all():  # shown from blob: URLs
        assert preview.evaluate("img => img.decode().then(() => img.naturalWidth)") > 0
    page.get_by_role("button", name="Make thumbnails").click()

    page.wait_for_url("**/jobs/*/")  # live: follow.js asks for news (no worker: sent_tasks)
    job = ThumbnailJob.objects.get()
    expect(page.locator("#job-state")).to_have_attribute("data-follow", re.compile("progress"))
    factories.run_job(job)
    expect(page.locator(".job-status")).to_have_text("Done")  # follow.js swapped it in
    for thumbnail in page.get_by_role("img", name=re.compile("thumbnail")).all():
        assert thumbnail.evaluate("img => img.decode().then(() => img.naturalWidth)") > 0

    page.get_by_role("button", name="Share a link to this job").click()
    expect(page.get_by_label("Link")).to_have_value(re.compile(str(job.pk)))

    batch = factories.user_batch(total=50)
    page.goto("/users/")
    expect(page.locator(f"#batch-{batch.pk}")).to_have_attribute("data-follow", re.compile("."))
    user_services.user_batch_fill(batch=batch)
    expect(page.locator(f"#batch-{batch.pk} .job-progress")).to_have_attribute(
        "data-status", "done"
    )

    assert page.goto("/nowhere/").status == 404
    page.goto("/admin/login/")
    expect(page.get_by_label("Username")).to_be_visible()

    assert reported(page, violations) == []


@pytest.mark.django_db(transaction=True)
def test_the_admins_pages_break_no_rule_of_the_policy(page, violations):
    get_user_model().objects.create_superuser("boss", password="a long password")
    DailySummary.objects.create(day="2026-12-01", users=1, jobs=2, failures=0)
    nightly, _ = CrontabSchedule.objects.get_or_create(minute="10", hour="0")
    task = PeriodicTask.objects.create(name="Nightly", task="ops.summary_record", crontab=nightly)

    page.goto("/admin/login/")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill("a long password")
    page.get_by_role("button", name="Log in").click()
    page.goto("/admin/django_celery_beat/periodictask/")
    expect(page.get_by_role("link", name="Nightly")).to_be_visible()
    page.goto(f"/admin/django_celery_beat/periodictask/{task.pk}/change/")
    # The crontab in words, from ops/static/ops/periodic_task_form.js, not an inline script.
    expect(page.locator(".crontab-in-words")).to_have_text(f"Translation: {nightly.human_readable}")
    expect(page.locator(".field-crontab_translation")).to_be_hidden()
    page.goto("/admin/django_celery_results/taskresult/")
    page.goto("/admin/ops/dailysummary/")
    expect(page.get_by_role("link", name="Dec. 1, 2026")).to_be_visible()

    assert reported(page, violations) == []
