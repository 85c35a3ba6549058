"""Images made at run time for the tests (no binary files in the repository)."""

import struct
import zlib
from io import BytesIO

from PIL import Image


def image_bytes(
    image_format: str = "JPEG",
    size: tuple[int, int] = (64, 48),
    mode: str = "RGB",
    **save_options,
) -> bytes:
    """An image with some structure (a gradient and a block), so resizing has work to do."""
    image = Image.linear_gradient("L").resize(size).convert(mode)
    if mode in ("RGB", "RGBA"):
        image.paste(
            (200, 30, 30) if mode == "RGB" else (200, 30, 30, 255),
            (0, 0, size[0] // 3, size[1] // 3),
        )
    buffer = BytesIO()
    image.save(buffer, format=image_format, **save_options)
    return buffer.getvalue()


def exif_with(orientation: int = 1, gps: bool = False) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation  # Orientation
    exif[0x010F] = "Parrot Cam"  # Make
    if gps:
        exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0)}  # GPSInfo: latitude
    return exif.tobytes()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def huge_png(width: int = 30000, height: int = 30000) -> bytes:
    """A valid 1-bit PNG of width x height: a few hundred KB that would decode to gigabytes."""
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def png_with_corrupt_pixels(width: int = 200, height: int = 100) -> bytes:
    """A PNG whose chunks are all well formed (so it passes the form's checks) but whose pixel
    data is not valid zlib: only decoding it, in the worker, finds out."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", b"this is not zlib data" * 20)
        + png_chunk(b"IEND", b"")
    )
