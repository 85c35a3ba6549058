"""A job or batch belongs to an owner token in its visitor's session: never the session id,
never shown to staff, and the rows made before the token kept their visitors."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse

from image_parroter.tests.factories import upload
from ops import owners
from thumbnailer.models import ThumbnailJob
from users.models import User, UserBatch


@pytest.fixture
def visitor(db, media_root) -> Client:
    """A visitor with a job (shared) and a batch of their own."""
    visitor = Client()
    assert visitor.post("/", {"images": [upload()]}).status_code == 302
    assert visitor.post("/users/generate/", {"total": 50}).status_code == 302
    visitor.post(f"/jobs/{ThumbnailJob.objects.get().pk}/share")
    return visitor


@pytest.fixture
def viewer(db) -> Client:
    """Staff who may view every record of the site in the admin, and change none."""
    staff = User.objects.create_user("viewer", password="a long password", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    viewer = Client()
    viewer.force_login(staff)
    return viewer


def admin_pages(viewer: Client) -> dict[str, str]:
    """Every admin page a viewer reaches from the index: the lists, each record and its
    history; by URL."""
    pages = {reverse("admin:index"): viewer.get(reverse("admin:index")).content.decode()}
    for changelist in sorted(
        set(re.findall(r'href="(/admin/[a-z_]+/[a-z_]+/)"', pages["/admin/"]))
    ):
        pages[changelist] = listed = viewer.get(changelist).content.decode()
        for change in sorted(set(re.findall(rf'href="({changelist}[^"/]+/change/)', listed))):
            pages[change] = viewer.get(change).content.decode()
            history = change.replace("/change/", "/history/")
            pages[history] = viewer.get(history).content.decode()
    return pages


def test_staff_see_no_session_key_owner_token_or_share_key_anywhere(visitor, viewer):
    job, batch = ThumbnailJob.objects.get(), UserBatch.objects.get()
    secrets_held = {
        "session key": visitor.session.session_key,
        "owner token": visitor.session[owners.SESSION_KEY],
        "share key": job.share_key,
        "keyed hash of the address": batch.client,
    }
    assert job.owner == batch.owner == secrets_held["owner token"]
    assert all(secrets_held.values())

    pages = admin_pages(viewer)

    assert f"/admin/thumbnailer/thumbnailjob/{job.pk}/change/" in pages
    assert f"/admin/users/userbatch/{batch.pk}/change/" in pages
    for name, secret in secrets_held.items():
        assert not [url for url, page in pages.items() if secret in page], f"shows the {name}"
    # Nor does a search by them find the records.
    searchable = [url for url, page in pages.items() if 'id="searchbar"' in page]
    assert "/admin/thumbnailer/thumbnailjob/" in searchable
    for changelist in searchable:
        for secret in secrets_held.values():
            found = viewer.get(changelist, {"q": secret}).content.decode()
            assert str(job.pk) not in found and str(batch.pk) not in found


@pytest.mark.django_db(transaction=True)
def test_rows_made_before_owner_tokens_keep_their_visitors():
    executor = MigrationExecutor(connection)
    before = [
        ("thumbnailer", "0006_verbose_names_translated"),
        ("users", "0007_verbose_names_translated"),
    ]
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    visitor = Client()
    visitor.get("/")  # a session, as a visitor of the old site had
    visitor.session.save()
    session_key = visitor.session.session_key
    job = old.get_model("thumbnailer", "ThumbnailJob").objects.create(session_key=session_key)
    batch = old.get_model("users", "UserBatch").objects.create(total=5, session_key=session_key)
    gone = old.get_model("thumbnailer", "ThumbnailJob").objects.create(session_key="x" * 32)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    token = visitor.session[owners.SESSION_KEY]
    assert ThumbnailJob.objects.get(pk=job.pk).owner == token
    assert UserBatch.objects.get(pk=batch.pk).owner == token
    assert visitor.get(f"/jobs/{job.pk}/").status_code == 200
    # A session that is gone leaves its job to nobody: a token no session holds.
    assert ThumbnailJob.objects.get(pk=gone.pk).owner not in ("", token)
