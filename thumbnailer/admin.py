from django.contrib import admin, messages
from django.db.models import Count
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ops.models import JobStatus

from . import services
from .models import JobImage, ThumbnailJob


class JobImageInline(admin.TabularInline):
    model = JobImage
    fields = ("position", "upload_name", "name", "original", "done", "thumbnails")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ThumbnailJob)
class ThumbnailJobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "status",
        "progress",
        "image_count",
        "sizes",
        "attempts",
        "created_at",
        "finished_at",
    )
    list_filter = ("status", "created_at")
    search_fields = ("id", "error", "images__upload_name")
    date_hierarchy = "created_at"
    readonly_fields = (
        "id",
        "status",
        "progress",
        "sizes",
        "error",
        "attempts",
        "archive",
        "created_at",
        "updated_at",
        "finished_at",
    )
    inlines = [JobImageInline]
    actions = ["rerun_failed"]

    def has_add_permission(self, request):
        return False

    def get_queryset(self, request):
        # One query for the list, not a COUNT per row.
        return super().get_queryset(request).annotate(images_count=Count("images"))

    @admin.display(description=_("images"), ordering="images_count")
    def image_count(self, job):
        return job.images_count

    @admin.action(description=_("Re-run selected failed jobs"))
    def rerun_failed(self, request, queryset):
        failed = queryset.filter(status=JobStatus.FAILED)
        for job in failed:
            services.job_rerun(job=job)
        skipped = queryset.count() - len(failed)
        requeued = ngettext(
            "Re-queued %(count)d failed job.", "Re-queued %(count)d failed jobs.", len(failed)
        )
        self.message_user(request, requeued % {"count": len(failed)}, messages.SUCCESS)
        if skipped:
            not_failed = ngettext(
                "Skipped %(count)d job that had not failed.",
                "Skipped %(count)d jobs that had not failed.",
                skipped,
            )
            self.message_user(request, not_failed % {"count": skipped}, messages.WARNING)
