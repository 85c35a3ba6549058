"""Mutated image bytes (hypothesis): whatever comes in, imaging answers with an ImageError or
with valid thumbnails, and `POST /` with a form error or a job, never a 500 and never a file
left behind by a refused upload."""

from io import BytesIO

import pytest
from hypothesis import HealthCheck, given, settings, strategies
from PIL import Image

from image_parroter.tests.factories import stored_files, upload
from thumbnailer import imaging
from thumbnailer.models import ThumbnailJob

from .images import exif_with, image_bytes

MAX_PIXELS = 50_000_000


def animated(image_format: str) -> bytes:
    frames = [Image.new("RGB", (40, 30), colour) for colour in ("red", "blue")]
    buffer = BytesIO()
    frames[0].save(buffer, image_format, save_all=True, append_images=frames[1:], duration=50)
    return buffer.getvalue()


# Small but complete images of each format, with what real files carry: EXIF, frames (APNG,
# animated GIF and WebP), a second picture (a multi-picture JPEG, "MPO").
SEEDS = {
    "JPEG": image_bytes("JPEG", (40, 30), exif=exif_with(6)),
    "MPO": animated("MPO"),
    "PNG": image_bytes("PNG", (40, 30)),
    "APNG": animated("PNG"),
    "GIF": animated("GIF"),
    "WEBP": animated("WEBP"),
    "BMP": image_bytes("BMP", (40, 30)),
}
FORMATS = list(SEEDS)


@strategies.composite
def mutated(draw) -> bytes:
    """A seed image with a few bytes flipped, a run of bytes deleted, or its tail cut off."""
    data = bytearray(SEEDS[draw(strategies.sampled_from(FORMATS))])
    kind = draw(strategies.sampled_from(["flip", "delete", "truncate"]))
    if kind == "flip":
        for _ in range(draw(strategies.integers(1, 10))):
            data[draw(strategies.integers(0, len(data) - 1))] = draw(strategies.integers(0, 255))
    elif kind == "delete":
        start = draw(strategies.integers(0, len(data) - 1))
        del data[start : start + draw(strategies.integers(1, 64))]
    else:
        del data[draw(strategies.integers(1, len(data) - 1)) :]
    return bytes(data)


@settings(max_examples=1000, deadline=None, derandomize=True)
@given(mutated())
def test_imaging_answers_an_image_error_or_valid_thumbnails(data):
    try:
        imaging.inspect(BytesIO(data), max_pixels=MAX_PIXELS)
        thumbnails = imaging.make_thumbnails(BytesIO(data), sizes=[32, 16], max_pixels=MAX_PIXELS)
    except imaging.ImageError:
        return
    assert [thumbnail.size for thumbnail in thumbnails] == [32, 16]
    for thumbnail in thumbnails:
        image = Image.open(BytesIO(thumbnail.data))
        image.load()
        assert image.format == thumbnail.format and max(image.size) <= thumbnail.size


@pytest.mark.django_db
@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(mutated())
def test_an_upload_of_any_bytes_gets_a_form_error_or_a_job(client, media_root, data):
    jobs_before = ThumbnailJob.objects.count()

    response = client.post("/", {"images": [upload("photo.jpg", data)]})

    assert response.status_code in (200, 302), response.status_code
    if response.status_code == 200:
        assert response.context["form"].errors
        assert ThumbnailJob.objects.count() == jobs_before
        kept = {f"thumbnailer/{job.pk}" for job in ThumbnailJob.objects.all()}
        assert all(name.rsplit("/originals/", 1)[0] in kept for name in stored_files(media_root))
