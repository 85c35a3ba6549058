"""A thumbnail job: the images a person uploaded and the one archive made from them."""

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ops.models import BackgroundJob


def job_folder(job_id) -> str:
    """Every file of a job lives under this storage prefix, so purging it misses nothing."""
    return f"thumbnailer/{job_id}"


def original_path(image: "JobImage", filename: str) -> str:
    return f"{job_folder(image.job_id)}/originals/{image.name}"


class ThumbnailJob(BackgroundJob):
    # One image is made by that task itself; several are spread over the workers as a chord.
    task_name = "thumbnailer.job_run"

    # Made when the owner asks for a share link (services.job_share_key); empty: not shared,
    # or the owner revoked the link.
    share_key = models.CharField(_("share key"), max_length=64, blank=True, editable=False)
    sizes = models.JSONField(_("sizes (px)"), default=list)
    archive = models.FileField(_("archive"), max_length=300, blank=True)

    class Meta(BackgroundJob.Meta):
        verbose_name = _("thumbnail job")
        verbose_name_plural = _("thumbnail jobs")

    def __str__(self) -> str:
        return f"Thumbnails {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("thumbnailer:detail", args=[self.pk])

    @property
    def download_name(self) -> str:
        return f"thumbnails-{str(self.pk)[:8]}.zip"


class JobImage(models.Model):
    job = models.ForeignKey(
        ThumbnailJob, verbose_name=_("job"), on_delete=models.CASCADE, related_name="images"
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    upload_name = models.CharField(_("name as uploaded"), max_length=255)
    name = models.CharField(_("sanitised name"), max_length=100)
    original = models.FileField(_("original"), upload_to=original_path, max_length=300)
    # More than 1: an animation, whose thumbnails show its first frame (the job page says so).
    frames = models.PositiveIntegerField(_("frames"), default=1)
    # {"128": "thumbnailer/<job>/thumbnails/128/photo.jpg", ...} once made.
    thumbnails = models.JSONField(_("thumbnails"), default=dict, blank=True)
    # {"128": [128, 96], ...}: each thumbnail's width and height, which the job page gives its
    # <img> so that the page does not jump as they load.
    dimensions = models.JSONField(_("thumbnail dimensions"), default=dict, blank=True)
    done = models.BooleanField(_("done"), default=False)

    class Meta:
        ordering = ["job", "position"]
        verbose_name = _("job image")
        verbose_name_plural = _("job images")
        constraints = [
            models.UniqueConstraint(fields=["job", "name"], name="thumbnailer_unique_image_name")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def stem(self) -> str:
        return self.name.rsplit(".", 1)[0]

    def thumbnail_url(self, size: int) -> str:
        return reverse("thumbnailer:thumbnail", args=[self.job_id, self.pk, size])
