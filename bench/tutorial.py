"""The tutorial's thumbnailer, written from its algorithm, as the whole-path baseline.

One task per upload, given the file's path: open the image, copy the full image and
`thumbnail()` it once per size, save each thumbnail to disk, zip the original and the
thumbnails. The view saves the upload and enqueues; the page polls the task's AsyncResult.
The tutorial `chdir`s into the media folder; this version uses absolute paths instead, since
chdir is process-wide and wrong under gevent.
"""

import os
import uuid
import zipfile
from pathlib import Path

from celery import shared_task
from celery.result import AsyncResult
from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from PIL import Image

SIZES = (128, 256, 512)


@shared_task(name="bench.tutorial.make_thumbnails")
def make_thumbnails(file_path: str, thumbnails: list) -> dict:
    folder, file = os.path.split(file_path)
    file_name, ext = os.path.splitext(file)
    zip_path = os.path.join(folder, f"{file_name}.zip")
    img = Image.open(file_path)
    with zipfile.ZipFile(zip_path, "w") as zipper:
        zipper.write(file_path, file)
        for w, h in thumbnails:
            img_copy = img.copy()
            img_copy.thumbnail((w, h))
            thumbnail_file = os.path.join(folder, f"{file_name}_{w}x{h}{ext}")
            img_copy.save(thumbnail_file)
            zipper.write(thumbnail_file, os.path.basename(thumbnail_file))
            os.remove(thumbnail_file)
    img.close()
    os.remove(file_path)
    return {"archive_path": zip_path}


@csrf_exempt
def upload(request):
    """Save the upload under media/images and hand its path to the task."""
    upload = request.FILES["image_file"]
    folder = Path(settings.MEDIA_ROOT) / "images"
    folder.mkdir(parents=True, exist_ok=True)
    file_path = folder / f"{uuid.uuid4().hex}{Path(upload.name).suffix}"
    with open(file_path, "wb+") as fp:
        for chunk in upload.chunks():
            fp.write(chunk)
    task = make_thumbnails.delay(str(file_path), thumbnails=[(s, s) for s in SIZES])
    return JsonResponse({"task_id": task.id, "task_status": task.status})


def task_status(request, task_id):
    task = AsyncResult(task_id)
    response = {"task_id": task.id, "task_status": task.status}
    if task.status == "SUCCESS":
        response["results"] = task.get()
        response["date_done"] = task.date_done.isoformat()
    return JsonResponse(response)
