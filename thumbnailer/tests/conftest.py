from io import BytesIO

import pytest

from image_parroter.tests.factories import upload
from thumbnailer import imaging, services

from .images import image_bytes
from .storage import NO_PATH_STORAGE


@pytest.fixture
def no_path_storage(settings):
    """The test process stores media through a backend without `.path()`."""
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": NO_PATH_STORAGE}}


@pytest.fixture
def make_job(settings):
    """`make_job(("a.jpg", data), ..., sizes=[128])`: a job made through the service."""

    def make(*files, sizes=(128, 256), owner="o" * 32):
        uploads = []
        for name, data in files or [("photo.jpg", image_bytes("JPEG", (600, 400)))]:
            info = imaging.inspect(BytesIO(data), max_pixels=settings.MAX_IMAGE_PIXELS)
            uploads.append((upload(name, data), info))
        return services.job_create(owner=owner, uploads=uploads, sizes=sizes)

    return make
