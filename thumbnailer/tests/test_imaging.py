import os
import struct
import subprocess
import sys
import zipfile
from datetime import datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageCms, ImageOps, ImageStat

from thumbnailer import imaging
from thumbnailer.imaging import ImageError

from .images import exif_with, huge_png, image_bytes, png_with_corrupt_pixels

MAX_PIXELS = 50_000_000


def thumbnails_of(data: bytes, sizes=(512, 256, 128)):
    return imaging.make_thumbnails(BytesIO(data), sizes=sizes, max_pixels=MAX_PIXELS)


def opened(thumbnail) -> Image.Image:
    return Image.open(BytesIO(thumbnail.data))


# inspect


def test_inspect_reads_format_and_size():
    info = imaging.inspect(BytesIO(image_bytes("PNG", (30, 20))), max_pixels=MAX_PIXELS)
    assert (info.format, info.width, info.height, info.extension) == ("PNG", 30, 20, "png")


@pytest.mark.parametrize(
    "data",
    [
        b"just some text, named photo.jpg",
        b"\x89PNG\r\n\x1a\n<!doctype html><html><body>not a picture</body></html>",
        image_bytes("TIFF"),  # a real image, but not a format we open
    ],
    ids=["text", "html-with-png-header", "tiff"],
)
def test_inspect_refuses_what_is_not_an_allowed_image(data):
    with pytest.raises(ImageError, match="not a JPEG, PNG, WebP, GIF, BMP, HEIC or AVIF"):
        imaging.inspect(BytesIO(data), max_pixels=MAX_PIXELS)


@pytest.mark.parametrize("image_format", ["JPEG", "PNG"])
def test_inspect_refuses_a_truncated_image(image_format):
    data = image_bytes(image_format, (400, 300))
    with pytest.raises(ImageError, match="damaged or incomplete"):
        imaging.inspect(BytesIO(data[: len(data) // 2]), max_pixels=MAX_PIXELS)


def test_inspect_refuses_too_many_pixels_from_the_header():
    data = huge_png()
    # Garbage in place of the pixel data: a decoder would fail, so the refusal comes first.
    data = data[:41] + b"\x00" * (len(data) - 57) + data[-16:]
    with pytest.raises(ImageError, match="too many pixels"):
        imaging.inspect(BytesIO(data), max_pixels=MAX_PIXELS)


def test_pillows_decompression_bomb_guard_is_an_error_even_under_a_generous_limit():
    # 900 million pixels is more than twice Pillow's own default limit.
    with pytest.raises(ImageError, match="too many pixels"):
        imaging.inspect(BytesIO(huge_png()), max_pixels=10**10)


# make_thumbnails


def test_one_thumbnail_per_size_largest_first_keeping_the_aspect_ratio():
    thumbnails = thumbnails_of(image_bytes("JPEG", (1200, 800)), sizes=[128, 512, 256])
    assert [(t.size, t.width, t.height) for t in thumbnails] == [
        (512, 512, 341),
        (256, 256, 171),
        (128, 128, 85),
    ]
    assert all(opened(t).size == (t.width, t.height) for t in thumbnails)


def test_small_images_are_never_upscaled():
    thumbnails = thumbnails_of(image_bytes("PNG", (100, 40)))
    assert [(t.width, t.height) for t in thumbnails] == [(100, 40)] * 3


@pytest.mark.parametrize(
    ("source_format", "output_format"),
    [("JPEG", "JPEG"), ("PNG", "PNG"), ("WEBP", "WEBP"), ("GIF", "PNG"), ("BMP", "PNG")],
)
def test_the_source_format_is_kept_where_it_has_one(source_format, output_format):
    thumbnail = thumbnails_of(image_bytes(source_format, (300, 200)), sizes=[128])[0]
    assert thumbnail.format == output_format
    assert opened(thumbnail).format == output_format
    assert thumbnail.extension == {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}[output_format]


@pytest.mark.parametrize(
    ("orientation", "expected"), [(1, (128, 64)), (6, (64, 128)), (8, (64, 128))]
)
def test_thumbnails_are_turned_upright_by_exif_orientation(orientation, expected):
    data = image_bytes("JPEG", (400, 200), exif=exif_with(orientation))
    thumbnail = thumbnails_of(data, sizes=[128])[0]
    assert (thumbnail.width, thumbnail.height) == expected


def test_orientation_rotates_the_right_way():
    # Red block top-left; orientation 6 means "rotate 90° clockwise to view": it goes top-right.
    data = image_bytes("PNG", (300, 150), exif=exif_with(6))
    image = opened(thumbnails_of(data, sizes=[128])[0]).convert("RGB")
    red = (200, 30, 30)
    corners = [(image.width - 3, 3), (3, 3), (3, image.height - 3)]
    assert [near(image.getpixel(xy), red) for xy in corners] == [True, False, False]


def near(pixel, expected, tolerance=40):
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])
def test_no_exif_or_gps_survives(image_format):
    data = image_bytes(image_format, (600, 400), exif=exif_with(6, gps=True))
    assert Image.open(BytesIO(data)).getexif()  # the source does carry it
    for thumbnail in thumbnails_of(data):
        image = opened(thumbnail)
        assert not image.getexif()
        assert b"Parrot Cam" not in thumbnail.data


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])
def test_the_colour_profile_survives(image_format):
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = image_bytes(image_format, (600, 400), icc_profile=profile)
    for thumbnail in thumbnails_of(data):
        assert opened(thumbnail).info.get("icc_profile") == profile


@pytest.mark.parametrize("image_format", ["PNG", "WEBP", "GIF"])
def test_transparency_survives(image_format):
    image = Image.new("RGBA", (300, 200), (0, 0, 255, 255))
    image.paste((0, 0, 0, 0), (0, 0, 150, 200))  # left half fully transparent
    buffer = BytesIO()
    if image_format == "GIF":
        image = image.convert("RGB").quantize(2)
        transparent = image.getpixel((0, 0))
        image.save(buffer, format="GIF", transparency=transparent)
    else:
        image.save(
            buffer, format=image_format, **({"lossless": True} if image_format == "WEBP" else {})
        )
    thumbnail = opened(thumbnails_of(buffer.getvalue(), sizes=[128])[0])
    assert thumbnail.mode == "RGBA"
    assert thumbnail.getpixel((5, 40))[3] == 0
    assert thumbnail.getpixel((thumbnail.width - 5, 40))[3] == 255


@pytest.mark.parametrize("mode", ["CMYK", "L", "P", "1", "I;16"])
def test_unusual_modes_come_out_in_a_mode_the_format_stores(mode):
    image_format = "JPEG" if mode in ("CMYK", "L") else "PNG"
    thumbnail = thumbnails_of(image_bytes(image_format, (300, 200), mode=mode), sizes=[64])[0]
    assert opened(thumbnail).mode in ("RGB", "L", "RGBA")


def test_cascaded_thumbnails_match_a_full_decode_lanczos_reference():
    data = image_bytes("JPEG", (2400, 1600), quality=95)
    for thumbnail in thumbnails_of(data):
        reference = Image.open(BytesIO(data))
        reference = reference.resize((thumbnail.width, thumbnail.height), Image.Resampling.LANCZOS)
        difference = ImageChops.difference(opened(thumbnail).convert("RGB"), reference)
        mean_absolute_error = sum(ImageStat.Stat(difference).mean) / 3
        assert mean_absolute_error < 2.0, (thumbnail.size, mean_absolute_error)


def test_a_truncated_image_fails_with_a_readable_reason():
    data = image_bytes("JPEG", (800, 600))
    with pytest.raises(ImageError, match="damaged or incomplete"):
        thumbnails_of(data[: len(data) // 2])


def test_too_many_pixels_fail_before_decoding():
    with pytest.raises(ImageError, match="pixels"):
        imaging.make_thumbnails(
            BytesIO(image_bytes("PNG", (300, 200))), sizes=[64], max_pixels=1000
        )


# names and archives


@pytest.mark.parametrize(
    ("upload_name", "stem"),
    [
        ("photo.jpg", "photo"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\ann\\holiday 2024.JPG", "holiday-2024"),
        ("<b>bold</b>.png", "b"),
        ("my <photo> (1).png", "my-photo-1"),
        ("Ünïcødé фото.webp", "Ünïcødé-фото"),
        (".jpg", "jpg"),
        ("...", "image"),
        ("a" * 300 + ".png", "a" * 80),
    ],
)
def test_safe_stem_keeps_no_path_parts_or_odd_characters(upload_name, stem):
    assert imaging.safe_stem(upload_name, set()) == stem


def test_safe_stem_never_repeats_a_taken_name():
    taken: set[str] = set()
    stems = [imaging.safe_stem(name, taken) for name in ["photo.jpg", "Photo.png", "photo.gif"]]
    assert stems == ["photo", "Photo-2", "photo-3"]


def test_write_archive_stores_each_member_as_given():
    members = {"originals/a.jpg": b"first", "thumbnails/128/a.jpg": b"second" * 1000}
    buffer = BytesIO()
    imaging.write_archive(buffer, ((name, BytesIO(data)) for name, data in members.items()))
    with zipfile.ZipFile(buffer) as archive:
        assert archive.testzip() is None
        assert {name: archive.read(name) for name in archive.namelist()} == members
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_STORED}


def test_zip_entries_carry_the_time_they_were_made_not_1980():
    before = datetime.now().replace(microsecond=0) - timedelta(seconds=2)
    buffer = BytesIO()
    imaging.write_archive(buffer, [("originals/a.jpg", BytesIO(b"data"))])
    with zipfile.ZipFile(buffer) as archive:
        (entry,) = archive.infolist()
    assert before <= datetime(*entry.date_time) <= datetime.now() + timedelta(seconds=2)
    assert entry.external_attr >> 16 == 0o644


def test_an_image_beyond_the_process_memory_limit_fails_with_a_readable_reason(tmp_path):
    """In a process of its own under an address-space limit (ulimit -v, a container's), a
    7000x7000 PNG within the pixel limit cannot be decoded: a reason, not a MemoryError."""
    source = tmp_path / "big.png"
    source.write_bytes(huge_png(7000, 7000))
    script = f"""
import resource
from thumbnailer import imaging
with open("/proc/self/status") as status:
    used = next(int(line.split()[1]) for line in status if line.startswith("VmSize")) * 1024
resource.setrlimit(resource.RLIMIT_AS, (used + 100 * 2**20, resource.RLIM_INFINITY))
try:
    imaging.make_thumbnails(open({str(source)!r}, "rb"), sizes=[64], max_pixels=50_000_000)
except imaging.ImageError as exc:
    print("ImageError:", exc)
"""
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.stdout.strip() == f"ImageError: {imaging.TOO_BIG_FOR_MEMORY}", run.stderr[-2000:]


# Images as people have them (camera files, broken metadata, colour, phones' formats)


def mpo_bytes() -> bytes:
    """A multi-picture JPEG, as stereo and many phone cameras write them."""
    left, right = Image.new("RGB", (400, 300), "teal"), Image.new("RGB", (400, 300), "navy")
    buffer = BytesIO()
    left.save(buffer, "MPO", save_all=True, append_images=[right])
    return buffer.getvalue()


def test_a_multi_picture_jpeg_is_the_jpeg_it_starts_with():
    data = mpo_bytes()
    assert Image.open(BytesIO(data)).format == "MPO"
    info = imaging.inspect(BytesIO(data), max_pixels=MAX_PIXELS)
    assert (info.format, info.extension, info.frames) == ("JPEG", "jpg", 1)
    assert {thumbnail.format for thumbnail in thumbnails_of(data)} == {"JPEG"}


def truncated(data: bytes) -> bytes:
    return data[: len(data) * 3 // 5]


@pytest.mark.parametrize("image_format", ["GIF", "BMP", "WEBP"])
def test_inspect_refuses_a_damaged_gif_bmp_or_webp(image_format):
    data = image_bytes(image_format, (400, 300))
    # (a WebP cut short no longer opens at all: refused too, as not an image)
    with pytest.raises(ImageError, match=r"damaged or incomplete|not a JPEG"):
        imaging.inspect(BytesIO(truncated(data)), max_pixels=MAX_PIXELS)


def test_inspect_refuses_a_png_whose_pixels_are_damaged():
    with pytest.raises(ImageError, match="damaged or incomplete"):
        imaging.inspect(BytesIO(png_with_corrupt_pixels()), max_pixels=MAX_PIXELS)


# A camera's EXIF block with three bytes changed: its Orientation still reads, but Pillow's
# exif_transpose fails on what surrounds it ("required argument is not an integer").
BROKEN_EXIF = bytes.fromhex(
    "4578696600004d4d002a00000008000201500002000000070000002601120003000000010006004bd400"
    "0000506172726f740000"
)


def test_a_photo_whose_exif_is_broken_still_gets_its_thumbnails():
    data = image_bytes("JPEG", (600, 400), exif=BROKEN_EXIF)
    with pytest.raises(struct.error):  # what failed the whole job
        ImageOps.exif_transpose(Image.open(BytesIO(data)))
    thumbnails = thumbnails_of(data)
    assert [(t.width, t.height) for t in thumbnails] == [(512, 341), (256, 171), (128, 85)]


def test_no_comment_or_xmp_survives_only_the_colour_profile():
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">secret place</x:xmpmeta>'
    data = image_bytes("JPEG", (600, 400), comment=b"secret note", xmp=xmp, icc_profile=profile)
    source = Image.open(BytesIO(data))
    assert source.info.get("comment") == b"secret note" and source.info.get("xmp")
    for thumbnail in thumbnails_of(data):
        assert b"secret" not in thumbnail.data
        assert opened(thumbnail).info.get("icc_profile") == profile


def test_the_pixel_limit_message_names_the_size(settings):
    # Pillow's own guard is set to the same limit (apps.py); ours speaks, with the size.
    assert Image.MAX_IMAGE_PIXELS == settings.MAX_IMAGE_PIXELS
    data = huge_png(8000, 7000)
    with pytest.raises(ImageError, match=r"\(this one is 8000x7000\)"):
        imaging.inspect(BytesIO(data), max_pixels=settings.MAX_IMAGE_PIXELS)


CMYK_PROFILE = Path("/usr/share/color/icc/ghostscript/default_cmyk.icc")


def test_a_cmyk_photo_is_turned_into_srgb_through_its_profile():
    if not CMYK_PROFILE.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI needs {CMYK_PROFILE} (apt-get install libgs-common)")
        pytest.skip(f"no CMYK profile at {CMYK_PROFILE}: apt-get install libgs-common")
    profile = CMYK_PROFILE.read_bytes()
    srgb = ImageCms.createProfile("sRGB")
    # A saturated orange, as the profile prints it, stored in CMYK with the profile embedded.
    orange = Image.new("RGB", (300, 200), (240, 120, 20))
    cmyk = ImageCms.profileToProfile(
        orange, srgb, ImageCms.ImageCmsProfile(BytesIO(profile)), outputMode="CMYK"
    )
    buffer = BytesIO()
    cmyk.save(buffer, "JPEG", quality=95, icc_profile=profile)
    stored = Image.open(BytesIO(buffer.getvalue()))
    expected = ImageCms.profileToProfile(
        stored, ImageCms.ImageCmsProfile(BytesIO(profile)), srgb, outputMode="RGB"
    ).getpixel((30, 30))
    for thumbnail in thumbnails_of(buffer.getvalue(), sizes=(64,)):
        image = opened(thumbnail)
        assert image.mode == "RGB" and not image.info.get("icc_profile")
        assert near(image.getpixel((20, 20)), expected, tolerance=6)
    # What the plain formula makes of it is another colour.
    assert not near(stored.convert("RGB").getpixel((30, 30)), expected, tolerance=6)


def test_a_16_bit_png_is_scaled_to_8_bits_not_clipped():
    grey = Image.new("I;16", (300, 200), 32768)  # half of 65535
    buffer = BytesIO()
    grey.save(buffer, "PNG")
    for thumbnail in thumbnails_of(buffer.getvalue(), sizes=(64,)):
        value = opened(thumbnail).convert("L").getpixel((10, 10))
        assert 126 <= value <= 130, value


@pytest.mark.parametrize(
    "image_format, mode, output_format",
    [
        ("HEIF", "RGB", "JPEG"),
        ("AVIF", "RGB", "JPEG"),
        ("HEIF", "RGBA", "PNG"),
        ("AVIF", "RGBA", "PNG"),
    ],
)
def test_phones_formats_give_thumbnails_every_browser_shows(image_format, mode, output_format):
    image = Image.new(mode, (600, 400), "orange")
    if mode == "RGBA":
        image.paste((0, 0, 0, 0), (0, 0, 300, 400))  # half of it transparent
    buffer = BytesIO()
    image.save(buffer, image_format)
    data = buffer.getvalue()
    info = imaging.inspect(BytesIO(data), max_pixels=MAX_PIXELS)
    assert info.format == image_format
    thumbnails = thumbnails_of(data)
    assert {thumbnail.format for thumbnail in thumbnails} == {output_format}
    assert [(t.width, t.height) for t in thumbnails] == [(512, 341), (256, 171), (128, 85)]


@pytest.mark.parametrize("image_format", ["GIF", "WEBP", "PNG"])
def test_an_animation_is_announced_and_its_first_frame_is_used(image_format):
    first, second = Image.new("RGB", (300, 200), "red"), Image.new("RGB", (300, 200), "blue")
    buffer = BytesIO()
    first.save(buffer, image_format, save_all=True, append_images=[second], duration=100)
    info = imaging.inspect(BytesIO(buffer.getvalue()), max_pixels=MAX_PIXELS)
    assert info.frames == 2
    for thumbnail in thumbnails_of(buffer.getvalue(), sizes=(64,)):
        assert near(opened(thumbnail).convert("RGB").getpixel((10, 10)), (255, 0, 0))
