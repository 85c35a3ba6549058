import pytest
from django.urls import reverse

from ops import reasons
from thumbnailer import services
from thumbnailer.models import ThumbnailJob

from .images import image_bytes

pytestmark = pytest.mark.django_db


def test_the_job_list_filters_by_status(admin_client, make_job):
    failed = make_job()
    services.job_fail(job=failed, reason=[reasons.because("could not be read")])
    queued = make_job()
    url = reverse("admin:thumbnailer_thumbnailjob_changelist")
    html = admin_client.get(url).content.decode()
    assert str(failed.pk) in html and str(queued.pk) in html
    html = admin_client.get(url, {"status__exact": "failed"}).content.decode()
    assert str(failed.pk) in html and str(queued.pk) not in html
    job_page = admin_client.get(reverse("admin:thumbnailer_thumbnailjob_change", args=[failed.pk]))
    assert "photo.jpg" in job_page.content.decode()


def test_the_job_list_counts_images_in_one_query_for_any_number_of_jobs(
    admin_client, make_job, django_assert_max_num_queries
):
    url = reverse("admin:thumbnailer_thumbnailjob_changelist")
    picture = image_bytes("JPEG", (60, 40))
    make_job(("a.jpg", picture), ("b.jpg", picture), ("c.jpg", picture))
    admin_client.get(url)  # the session and permissions, cached from here on
    with django_assert_max_num_queries(12) as one_job:
        html = admin_client.get(url).content.decode()
    assert '<td class="field-image_count">3</td>' in html
    for _ in range(5):
        make_job()
    with django_assert_max_num_queries(len(one_job.captured_queries)):
        admin_client.get(url)


def test_rerun_requeues_only_failed_jobs(
    admin_client, make_job, sent_tasks, django_capture_on_commit_callbacks
):
    failed = make_job()
    services.job_fail(job=failed, reason=[reasons.because("could not be read")])
    queued = make_job()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:thumbnailer_thumbnailjob_changelist"),
            {"action": "rerun_failed", "_selected_action": [failed.pk, queued.pk]},
            follow=True,
        )
    assert [args for _, args, _ in sent_tasks] == [[str(failed.pk)]]
    text = response.content.decode()
    assert "Re-queued 1 failed job." in text
    assert "Skipped 1 job that had not failed." in text
    failed.refresh_from_db()
    assert (failed.status, failed.error) == ("queued", "")
    assert ThumbnailJob.objects.get(pk=queued.pk).status == "queued"
