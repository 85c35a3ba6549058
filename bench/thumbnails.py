"""Thumbnails: the tutorial's algorithm against thumbnailer/imaging.py, same run.

    .venv/bin/python bench/thumbnails.py [--repeat 5]

The baseline is the tutorial's task body: open, full decode (`copy()`), `thumbnail()` per
size on a copy of the full image, save each, zip the original and the thumbnails. The project
decodes once (JPEG draft), cascades from the largest size with `reducing_gap`, and stores the
original in the zip as it is. Both write to memory, on the same generated images. Quality is
the mean absolute error (0..255, over all channels and sizes) of each thumbnail against a
full-decode LANCZOS resize to the same dimensions; the floor is that reference's own error
once saved with the project's encoder settings, i.e. what lossy saving costs by itself.
"""

import argparse
import random
import statistics
import sys
import time
import zipfile
from io import BytesIO
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageStat

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.records import append as records_append
from bench.records import line as records_line
from thumbnailer import imaging

SIZES = (128, 256, 512)
IMAGES = [
    ("6000x4000 JPEG", (6000, 4000), "JPEG"),
    ("1920x1080 JPEG", (1920, 1080), "JPEG"),
    ("4000x3000 PNG", (4000, 3000), "PNG"),
]
EXTENSIONS = {"JPEG": "jpg", "PNG": "png"}


def photo_like(size: tuple[int, int], image_format: str) -> bytes:
    """Smooth gradients, sensor-like noise and hard-edged shapes: work for every resampler."""
    width, height = size
    smooth = Image.merge(
        "RGB",
        [
            Image.linear_gradient("L").resize(size),
            Image.radial_gradient("L").resize(size),
            Image.linear_gradient("L").rotate(90).resize(size),
        ],
    )
    noise = Image.effect_noise(size, 8).convert("RGB")
    image = ImageChops.add(smooth, noise, scale=1.0, offset=-128)
    draw = ImageDraw.Draw(image)
    rng = random.Random(42)
    for _ in range(150):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(10, max(11, width // 12))
        colour = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        else:
            draw.line((x, y, x + rng.randrange(-r * 4, r * 4), y + r * 2), fill=colour, width=3)
    buffer = BytesIO()
    image.save(buffer, format=image_format, **({"quality": 90} if image_format == "JPEG" else {}))
    return buffer.getvalue()


def baseline(data: bytes, name: str) -> tuple[bytes, list[bytes]]:
    """The tutorial: full decode, copy + thumbnail per size, save, zip."""
    image = Image.open(BytesIO(data))
    archive = BytesIO()
    thumbnails = []
    with zipfile.ZipFile(archive, "w") as zipper:
        zipper.writestr(name, data)
        for size in SIZES:
            copy = image.copy()
            copy.thumbnail((size, size))
            buffer = BytesIO()
            copy.save(buffer, format=image.format)
            thumbnails.append(buffer.getvalue())
            zipper.writestr(f"{size}_{name}", buffer.getvalue())
    image.close()
    return archive.getvalue(), thumbnails


def project(data: bytes, name: str) -> tuple[bytes, list[bytes]]:
    thumbnails = imaging.make_thumbnails(BytesIO(data), sizes=SIZES, max_pixels=50_000_000)
    archive = BytesIO()
    members = [(f"originals/{name}", BytesIO(data))]
    members += [(f"thumbnails/{t.size}/{name}", BytesIO(t.data)) for t in thumbnails]
    imaging.write_archive(archive, members)
    return archive.getvalue(), [t.data for t in thumbnails]


def difference(image: Image.Image, reference: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(image, reference)).mean) / 3


def mean_absolute_errors(data: bytes, thumbnails: list[bytes]) -> tuple[float, float]:
    """Against the full-decode LANCZOS reference: the thumbnails' error, and the error of the
    reference itself once encoded like the project encodes (what lossy saving alone costs)."""
    source = Image.open(BytesIO(data))
    image_format, source = source.format, source.convert("RGB")
    errors, floors = [], []
    for thumbnail in thumbnails:
        image = Image.open(BytesIO(thumbnail)).convert("RGB")
        reference = source.resize(image.size, Image.Resampling.LANCZOS)
        encoded = BytesIO()
        reference.save(encoded, format=image_format, **imaging.SAVE_OPTIONS[image_format])
        errors.append(difference(image, reference))
        floors.append(difference(Image.open(encoded).convert("RGB"), reference))
    return statistics.mean(errors), statistics.mean(floors)


def timed(function, *args, repeat: int) -> tuple[list[float], object]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = function(*args)
        times.append(time.perf_counter() - start)
    return times, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="the JPEGs only")
    parser.add_argument("--json", type=Path, help="append the records to this JSON list")
    args = parser.parse_args()
    repeat, records = args.repeat, []
    print(f"Pillow {Image.__version__}, sizes {SIZES}, median of {repeat} runs each\n")
    print("| image | baseline | project | speed-up | MAE baseline | MAE project | MAE floor |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, size, image_format in IMAGES[:2] if args.quick else IMAGES:
        data = photo_like(size, image_format)
        name = f"photo.{EXTENSIONS[image_format]}"
        base_times, (_, base_thumbs) = timed(baseline, data, name, repeat=repeat)
        our_times, (_, our_thumbs) = timed(project, data, name, repeat=repeat)
        base_time, our_time = statistics.median(base_times), statistics.median(our_times)
        our_error, floor = mean_absolute_errors(data, our_thumbs)
        print(
            f"| {label} ({len(data) / 1e6:.1f} MB) | {base_time * 1000:.0f} ms "
            f"| {our_time * 1000:.0f} ms | {base_time / our_time:.1f}x "
            f"| {mean_absolute_errors(data, base_thumbs)[0]:.2f} "
            f"| {our_error:.2f} | {floor:.2f} |",
            flush=True,
        )
        records.append(
            records_line(f"imaging: {label}", our_times, base_times, mae=round(our_error, 2))
        )
    if args.json:
        records_append(args.json, records)


if __name__ == "__main__":
    main()
