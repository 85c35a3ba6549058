from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from .models import User, UserBatch


@admin.register(User)
class SiteUserAdmin(UserAdmin):
    list_display = ["username", "email", "batch", "is_staff", "date_joined"]
    list_select_related = ["batch"]
    raw_id_fields = ["batch"]
    fieldsets = [*UserAdmin.fieldsets, (_("Generated"), {"fields": ["batch"]})]
    # With a million users an exact count per search costs more than the page itself.
    show_full_result_count = False


@admin.register(UserBatch)
class UserBatchAdmin(admin.ModelAdmin):
    list_display = ["id", "status", "progress", "created", "total", "attempts", "created_at"]
    list_filter = ["status"]
    readonly_fields = [
        "id",
        "status",
        "progress",
        "created",
        "error",
        "attempts",
        "created_at",
        "updated_at",
        "finished_at",
    ]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        """Batches are asked for on /users/generate/ or with `manage.py generate_users`."""
        return False
