from django.contrib import messages
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ops import limits
from ops.owners import owner_token
from ops.responses import form_errors_json, unchanged_since_seen, wants_json

from . import services
from .forms import GenerateUsersForm
from .models import User, UserBatch

PAGE_SIZE = 50
RECENT_BATCHES = 5


class FullSlicePaginator(Paginator):
    """Asks for a whole page's worth of rows even on the last page.

    Django's Paginator cuts the last page to the rows left (LIMIT 1 for one match), and with so
    small a LIMIT PostgreSQL walks the ordering index and filters every row instead of asking
    the trigram index for the few matches.
    """

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        return self._get_page(self.object_list[bottom : bottom + self.per_page], number, self)


@require_GET
def user_list(request):
    """The newest users first, a page at a time, searchable; and the latest batches."""
    query = request.GET.get("q", "").strip()
    users = User.objects.generated()
    if query:
        users = users.filter(Q(username__icontains=query) | Q(email__icontains=query))
    # Pages are cut from the ids alone, which the ordering index holds, so a deep page does
    # not read every row it skips; then only its 50 rows are read.
    page = FullSlicePaginator(users.values_list("pk", flat=True), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    batches = list(UserBatch.objects.all()[:RECENT_BATCHES])
    return render(
        request,
        "users/user_list.html",
        {
            "page": page,
            "users": User.objects.filter(pk__in=page.object_list).only(
                "username", "email", "date_joined"
            ),
            "page_range": page.paginator.get_elided_page_range(page.number, on_ends=1),
            "query": query,
            "batches": batches,
            "follow_without_js": any(not batch.is_final for batch in batches),
            "owner": owner_token(request),
            "form": GenerateUsersForm(),
        },
    )


@require_http_methods(["GET", "POST"])
def generate(request):
    """Ask for a batch of random users; they are made in the background."""
    form = GenerateUsersForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        batch = services.user_batch_create(
            total=form.cleaned_data["total"],
            owner=owner_token(request, create=True),
            client=limits.client_tag(request),
        )
        # It goes away when the batch's live part ends (static/follow.js).
        on_the_way = ngettext(
            "%(total)s user is on its way.", "%(total)s users are on their way.", batch.total
        ) % {"total": intcomma(batch.total)}
        messages.success(request, on_the_way, extra_tags=f"batch-{batch.pk}")
        return redirect("users:list")
    if form.is_bound and wants_json(request):
        return form_errors_json(form)
    return render(request, "users/generate.html", {"form": form})


@require_GET
def batch_progress(request, pk):
    """A batch's progress bar while it is unfinished, or 204 when the page has seen it."""
    batch = get_object_or_404(UserBatch, pk=pk)
    if unchanged := unchanged_since_seen(request, batch):
        return unchanged
    context = {"batch": batch, "owner": owner_token(request)}
    response = render(request, "users/partials/batch.html", context)
    if batch.is_final:
        # The page (static/follow.js) loads its user table afresh, once.
        response["X-Refresh"] = "user-rows"
    return response


@require_POST
def batch_cancel(request, pk):
    """The session that asked for a batch stops it; the users already made are kept."""
    batch = get_object_or_404(UserBatch.objects.owned_by(owner_token(request)), pk=pk)
    if services.user_batch_cancel(batch=batch):
        batch.refresh_from_db()
        kept = ngettext(
            "Cancelled: %(created)s of %(total)s users was made and is kept.",
            "Cancelled: %(created)s of %(total)s users were made and are kept.",
            batch.created,
        ) % {"created": intcomma(batch.created), "total": intcomma(batch.total)}
        messages.info(request, kept)
    return redirect("users:list")


@require_GET
def batch_status(request, pk):
    batch = get_object_or_404(UserBatch, pk=pk)
    return JsonResponse(
        {
            "id": str(batch.pk),
            "status": batch.status,
            "progress": batch.progress,
            "created": batch.created,
            "total": batch.total,
        }
    )
