"""Thumbnails and archives with Pillow and zipfile only (no Django, no Celery), so this module
is tested and benchmarked on its own.

Speed comes from decoding each image once, at the smallest JPEG draft scale that still leaves
`DRAFT_GAP` times the largest box, and cascading the smaller sizes from the larger ones.
"""

import re
import shutil
import struct
import time
import unicodedata
import warnings
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from io import BytesIO
from typing import BinaryIO

from PIL import Image, ImageCms, ImageOps
from pillow_heif import register_heif_opener

register_heif_opener()  # HEIC/HEIF, as phones write them; Pillow reads AVIF by itself

# The formats accepted, by Pillow's name: what people call each, the extension of the files
# made here, and what a browser's file chooser is told to offer (MIME types, and extensions
# where some systems know no MIME type). Only these decoders ever see an upload. Pillow's JPEG
# decoder opens a multi-picture JPEG (as stereo and many phone cameras write them) as "MPO":
# it is the JPEG it starts with.
FORMATS = {
    "JPEG": ("JPEG", "jpg", ("image/jpeg",)),
    "PNG": ("PNG", "png", ("image/png",)),
    "WEBP": ("WebP", "webp", ("image/webp",)),
    "GIF": ("GIF", "gif", ("image/gif",)),
    "BMP": ("BMP", "bmp", ("image/bmp",)),
    "HEIF": ("HEIC", "heic", ("image/heic", "image/heif", ".heic", ".heif")),
    "AVIF": ("AVIF", "avif", ("image/avif", ".avif")),
}
ALLOWED_FORMATS = tuple(FORMATS)
EXTENSIONS = {name: extension for name, (_, extension, _) in FORMATS.items()}
# What a file chooser offers, and the formats' names for people ("JPEG, PNG, ... or AVIF",
# joined by a message of the reader's language).
FILE_CHOOSER_ACCEPTS = ",".join(accept for *_, accepts in FORMATS.values() for accept in accepts)
_names = [name for name, _, _ in FORMATS.values()]
FORMAT_NAMES = {"names": ", ".join(_names[:-1]), "last": _names[-1]}


def gettext_noop(text: str) -> str:
    """Marks a message for the catalogues (Django's makemessages knows this name); Django
    translates it where a person reads it, so here it stays the English text."""
    return text


NOT_AN_IMAGE = gettext_noop("The file is not a %(names)s or %(last)s image.")
# Thumbnails keep these formats. Phones' formats become JPEG (PNG where there is alpha),
# which every browser shows; GIF and BMP become PNG.
KEPT_FORMATS = ("JPEG", "PNG", "WEBP")
PHOTO_FORMATS = ("HEIF", "AVIF")
# Pillow's advice: with 2.0 the result is very close to a fair LANCZOS resize.
REDUCING_GAP = 2.0
# libjpeg's scaled decoding already filters well: 1.45 lets a 1920x1080 photo decode at half
# size for 512 px, and a 6000x4000 one at an eighth (750 px, 1.46x the box), both at the
# quality floor (bench/thumbnails.py measures them; at 1.5 the big one took a quarter, 30% slower).
DRAFT_GAP = 1.45
SAVE_OPTIONS = {
    "JPEG": {"quality": 85, "comment": b""},
    "WEBP": {"quality": 85},
    "PNG": {},
}
# What a damaged or hostile file makes Pillow (or a plugin) raise while opening or decoding
# it; the fuzz tests in tests/test_imaging_fuzz.py find these.
DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    struct.error,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
)
SRGB = ImageCms.createProfile("sRGB")


class ImageError(ValueError):
    """The file is not an image this module will process; the message says why, for people:
    `text` (English with %(name)s placeholders, a message id of the catalogues) and `params`,
    so that Django can show it translated, with numbers grouped as the reader's language does."""

    def __init__(self, text: str, **params):
        self.text, self.params = text, params
        english = {name: f"{v:,}" if isinstance(v, int) else v for name, v in params.items()}
        super().__init__(text % english)


TOO_BIG_FOR_MEMORY = gettext_noop("The image needs more memory than this server allows.")
DAMAGED = gettext_noop("The image is damaged or incomplete.")


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int
    # More than one frame: an animation, whose thumbnails show its first frame.
    frames: int = 1

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]


@dataclass(frozen=True)
class Thumbnail:
    size: int
    format: str
    width: int
    height: int
    data: bytes

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]


def _open(source: BinaryIO, *, max_pixels: int) -> Image.Image:
    """Open (read the header of) an allowed image and refuse it if it has too many pixels.

    The image is never closed here: Pillow's close() would close `source`, which the caller
    owns."""
    try:
        with warnings.catch_warnings():
            # Pillow's own guard (set to the same limit) would speak first, without the size;
            # its error, at twice the limit, still stops the worst before any decoding.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(source, formats=ALLOWED_FORMATS)
    except Image.DecompressionBombError as exc:
        too_big = gettext_noop("The image has too many pixels: at most %(limit)s are accepted.")
        raise ImageError(too_big, limit=max_pixels) from exc
    except DECODE_ERRORS as exc:
        raise ImageError(NOT_AN_IMAGE, **FORMAT_NAMES) from exc
    if image.width * image.height > max_pixels:
        too_big = gettext_noop(
            "The image has too many pixels: at most %(limit)s are accepted (this one is %(size)s)."
        )
        raise ImageError(too_big, limit=max_pixels, size=f"{image.width}x{image.height}")
    return image


def pixels(source: BinaryIO) -> int:
    """Width x height as the header says, nothing decoded (what inspect would decode); 0 for a
    file that is not an allowed image or is far past the pixel limit (inspect refuses those
    without decoding them)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(source, formats=ALLOWED_FORMATS)
        return image.width * image.height
    except DECODE_ERRORS:
        return 0
    finally:
        source.seek(0)


def _format(image: Image.Image) -> str:
    return "JPEG" if image.format == "MPO" else image.format


def inspect(source: BinaryIO, *, max_pixels: int) -> ImageInfo:
    """Check that `source` is a whole, allowed image within `max_pixels`.

    The pixel count comes from the header, before any decoding. Then the picture the
    thumbnails are made from (an animation's first frame) is decoded, so that a damaged file
    is refused now rather than failing its job later: a JPEG at its smallest draft scale (all
    of the compressed data, an eighth of the pixels each way), any other format whole.
    """
    image = _open(source, max_pixels=max_pixels)
    try:
        # Counting a GIF's frames walks the whole file. An MPO's other pictures are no frames.
        frames = 1 if image.format == "MPO" else getattr(image, "n_frames", 1)
        info = ImageInfo(_format(image), image.width, image.height, frames)
        image.seek(0)
        if info.format == "JPEG":
            image.draft(None, (1, 1))
        image.load()
    except DECODE_ERRORS as exc:
        raise ImageError(DAMAGED) from exc
    except MemoryError as exc:
        raise ImageError(TOO_BIG_FOR_MEMORY) from exc
    return info


def _prepare(image: Image.Image) -> Image.Image:
    """The image, loaded, in a mode that resamples well: palette and bitmap images widened
    to RGB (RGBA where they have transparency), 16-bit ones scaled to 8 bits (not clipped),
    CMYK turned into sRGB through its colour profile."""
    if image.mode == "CMYK":
        return _cmyk_to_srgb(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        return image.convert("I").point(lambda value: value / 256).convert("L")
    if image.mode in ("RGB", "RGBA", "L", "LA", "YCbCr"):
        if "transparency" in image.info and image.mode in ("RGB", "L"):
            return image.convert("RGBA")
        image.load()
        return image
    has_alpha = "transparency" in image.info or image.mode in ("PA", "RGBa", "La")
    return image.convert("RGBA" if has_alpha else "RGB")


def _cmyk_to_srgb(image: Image.Image) -> Image.Image:
    """Through the embedded profile where there is one that works, else Pillow's formula."""
    if profile := image.info.get("icc_profile"):
        try:
            source = ImageCms.ImageCmsProfile(BytesIO(profile))
            return ImageCms.profileToProfile(image, source, SRGB, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass
    return image.convert("RGB")


def _upright(image: Image.Image) -> Image.Image:
    """Turned by its EXIF orientation, where that can be read: broken metadata must not cost
    the picture, so an EXIF block that will not parse is ignored (any error its parser raises)."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # untrusted, optional metadata
        return image


def _finish(image: Image.Image, output_format: str) -> Image.Image:
    """Bring a thumbnail to a mode its output format can store."""
    if output_format == "JPEG" and image.mode not in ("RGB", "L"):
        return image.convert("RGB")
    if output_format == "WEBP" and image.mode not in ("RGB", "RGBA"):
        return image.convert("RGBA" if "A" in image.mode else "RGB")
    if output_format == "PNG" and image.mode in ("CMYK", "YCbCr"):
        return image.convert("RGB")
    return image


def _encode(image: Image.Image, output_format: str, icc_profile: bytes | None) -> bytes:
    # Of the source's metadata only the colour profile is passed on: no EXIF, GPS or XMP
    # (Pillow writes those only when asked), and no JPEG comment (which it copies unless told).
    buffer = BytesIO()
    options = SAVE_OPTIONS[output_format] | ({"icc_profile": icc_profile} if icc_profile else {})
    image.save(buffer, format=output_format, **options)
    return buffer.getvalue()


def make_thumbnails(source: BinaryIO, *, sizes: Iterable[int], max_pixels: int) -> list[Thumbnail]:
    """One thumbnail per size (a square box in pixels), largest first.

    Aspect ratio kept, never upscaled, turned upright by the EXIF orientation (where it can
    be read), no metadata but the colour profile, an animation's first frame; the source's
    format where it is JPEG, PNG or WebP, JPEG (PNG with alpha) for HEIC and AVIF, PNG
    otherwise.
    """
    boxes = sorted(set(sizes), reverse=True)
    image = _open(source, max_pixels=max_pixels)
    output_format = _output_format(image)
    targets = [_fit(image.width, image.height, box) for box in boxes]
    # A CMYK source's thumbnails are sRGB (see _prepare), which needs no profile.
    icc_profile = None if image.mode == "CMYK" else image.info.get("icc_profile")
    thumbnails = []
    try:
        # JPEG only: decode at the smallest scale (1/2, 1/4, 1/8) that keeps DRAFT_GAP
        # times the largest thumbnail; `crop` maps the target onto that scale exactly.
        width, height = targets[0]
        drafted = image.draft(None, (int(width * DRAFT_GAP), int(height * DRAFT_GAP)))
        crop = drafted[1] if drafted else None
        current = _prepare(image)
        for box, target in zip(boxes, targets, strict=True):
            # Each smaller size is made from the previous, already encoded, thumbnail.
            if current.size != target:
                current = current.resize(
                    target, Image.Resampling.LANCZOS, box=crop, reducing_gap=REDUCING_GAP
                )
            crop = None
            # Rotating a thumbnail is far cheaper than rotating the source.
            upright = _finish(_upright(current), output_format)
            data = _encode(upright, output_format, icc_profile)
            thumbnails.append(Thumbnail(box, output_format, upright.width, upright.height, data))
    except DECODE_ERRORS as exc:
        raise ImageError(DAMAGED) from exc
    except MemoryError as exc:  # a process memory limit (ulimit, a container's) was reached
        raise ImageError(TOO_BIG_FOR_MEMORY) from exc
    return thumbnails


def _output_format(image: Image.Image) -> str:
    source = _format(image)
    if source in KEPT_FORMATS:
        return source
    if source in PHOTO_FORMATS:
        return "PNG" if "A" in image.mode or "transparency" in image.info else "JPEG"
    return "PNG"


def _fit(width: int, height: int, box: int) -> tuple[int, int]:
    """The size of a width x height image shrunk (never enlarged) to fit a box x box square."""
    scale = min(box / width, box / height, 1.0)
    return max(1, round(width * scale)), max(1, round(height * scale))


def safe_stem(upload_name: str, taken: set[str]) -> str:
    """A file-name stem from an upload's name: no folders, no odd characters, not in `taken`
    (compared case-insensitively, and added to it)."""
    base = upload_name.replace("\\", "/").rsplit("/", 1)[-1]
    stem = base.rsplit(".", 1)[0] if "." in base.lstrip(".") else base
    stem = unicodedata.normalize("NFKC", stem)
    stem = re.sub(r"[^\w-]+", "-", stem).strip("-_")[:80] or "image"
    candidate, number = stem, 2
    while candidate.lower() in taken:
        candidate, number = f"{stem}-{number}", number + 1
    taken.add(candidate.lower())
    return candidate


def write_archive(destination: BinaryIO, members: Iterable[tuple[str, BinaryIO]]) -> None:
    """Write a zip of (name in the archive, readable file) pairs, streaming each file.

    Images are already compressed, so they are stored as they are: no recompression. Every
    entry is dated when the archive is made (local time, as zip has no zone), readable by all.
    """
    made_at = time.localtime()[:6]
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, source in members:
            entry = zipfile.ZipInfo(name, date_time=made_at)
            entry.external_attr = 0o644 << 16
            with archive.open(entry, "w", force_zip64=True) as target:
                shutil.copyfileobj(source, target, 1024 * 1024)
