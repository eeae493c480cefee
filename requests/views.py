"""My requests (policy 4.1-4.2): file, follow, withdraw, download the copy; and who
received my data (policy 3.1), with the recipients a deletion told to delete.

Thin views: forms check the input, the filing flow (``flows.filing``) files a request,
asking for a fresh SMS code before a copy or a deletion, ``services`` change requests,
``selectors`` read. Every page that names a request looks it up by reference *and* the
signed-in user, so someone else's request is a plain 404, exactly like one that does not exist
(``tests/requests/test_cross_user.py`` walks the URLconf to hold every route to that).
"""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models.functions import Left
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from privacyportal.registry import registry

from . import selectors, services, timeline
from .flows import filing
from .forms import FILING_FORMS, CodeForm, kept_kinds
from .models import AccessCopy, Disclosure, PrivacyRequest

Kind = PrivacyRequest.Kind
DISCLOSURES_PER_PAGE = 25


def _own_request(request, reference: UUID) -> PrivacyRequest:
    privacy_request = selectors.request_get_for_user(user=request.user, reference=reference)
    if privacy_request is None:
        raise Http404
    return privacy_request


def _message_page(request, *, title, message, status, privacy_request=None, kind=None):
    return render(
        request,
        "requests/message.html",
        {"title": title, "message": message, "privacy_request": privacy_request, "kind": kind},
        status=status,
    )


# Enough of a request's own words to tell it from others of its kind in the list; read
# with room for the spaces and line breaks that are folded away.
SUMMARY_CHARS = 48
SUMMARY_READ = 2 * SUMMARY_CHARS


def _summary(values: dict) -> str:
    """What the request is about, in a line: the scope of a deletion, the field of a
    correction, else the first words the user wrote."""
    shown = PrivacyRequest(
        kind=values["kind"],
        scope_kinds=values["scope_kinds"] or [],
        correction_field=values["correction_field"],
    )
    read = values["first_words"]
    first_words = " ".join(read.split())
    if len(first_words) > SUMMARY_CHARS or len(read) >= SUMMARY_READ:
        first_words = first_words[: SUMMARY_CHARS - 1].rstrip() + "…"
    if shown.kind == Kind.DELETION:
        if values["whole_account"]:
            return _("The whole account (the account is closed)")
        return _(", ").join(selectors.scope_labels(shown))
    if shown.kind == Kind.CORRECTION:
        label = selectors.correction_field_label(shown)
        if values["correction_value"]:
            return _("%(field)s: %(value)s") % {"field": label, "value": values["correction_value"]}
        return f"{label} · {first_words}" if first_words else label
    return first_words


@login_required
@require_GET
def request_list(request):
    rows = selectors.request_rows_for_user(user=request.user)
    # The rows carry only the columns of the list; the texts come in one query of their
    # own, and only their first characters.
    texts = {
        values["pk"]: values
        for values in PrivacyRequest.objects.filter(user=request.user).values(
            "pk",
            "kind",
            "whole_account",
            "scope_kinds",
            "correction_field",
            "correction_value",
            first_words=Left("details", SUMMARY_READ),
        )
    }
    items = [(row, _summary(texts[row.request.pk])) for row in rows if row.request.pk in texts]
    return render(request, "requests/list.html", {"rows": rows, "items": items, "kinds": Kind})


def _filing_page(request, kind: str, form, *, status: int = 200):
    context = {
        "form": form,
        "kind": Kind(kind),
        "needs_code": filing.needs_code(kind),
        "pending": filing.waiting(request, kind).pending,
        "data_kinds": registry.kinds(),
        "kept_kinds": kept_kinds() if kind == Kind.DELETION else (),
    }
    return render(request, f"requests/new_{kind}.html", context, status=status)


def _filed(request, privacy_request: PrivacyRequest):
    if privacy_request.is_open:
        messages.success(
            request,
            _("Your request was filed. We will answer by %(due)s at the latest.")
            % {"due": formats.date_format(privacy_request.effective_due_on, "Y-m-d")},
        )
    else:
        messages.success(request, _("Your request was filed."))
    return redirect("requests:detail", reference=privacy_request.reference)


@login_required
@require_http_methods(["GET", "POST"])
def request_new(request, kind: str):
    form_class = FILING_FORMS.get(kind)
    if form_class is None:
        raise Http404
    open_copy = filing.copy_in_progress(request, kind)
    if open_copy is not None:
        messages.info(request, _("A copy of your data is already being prepared."))
        return redirect("requests:detail", reference=open_copy.reference)
    if request.method == "GET":
        return _filing_page(request, kind, form_class())
    form = form_class(request.POST)
    if not form.is_valid():
        return _filing_page(request, kind, form, status=400)
    outcome = filing.begin(request, kind, form.filing_data())
    if outcome.error:
        form.add_error(None, outcome.message)
        return _filing_page(
            request, kind, form, status=429 if outcome.error == "rate_limited" else 400
        )
    if outcome.privacy_request is not None:
        return _filed(request, outcome.privacy_request)
    return redirect("requests:verify", kind=kind)


@login_required
@require_http_methods(["GET", "POST"])
def request_verify(request, kind: str):
    if not filing.needs_code(kind):
        raise Http404
    outcome = filing.waiting(request, kind)
    if outcome.error:
        messages.info(request, outcome.message)
        return redirect("requests:new", kind=kind)
    if request.method == "POST" and "resend" in request.POST:
        resent = filing.resend(request, kind)
        if resent.error:
            messages.error(request, resent.message)
        else:
            messages.success(request, _("We sent a new code."))
        return redirect("requests:verify", kind=kind)
    form = CodeForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            confirmed = filing.confirm(request, kind, form.cleaned_data["code"])
            if confirmed.privacy_request is not None:
                return _filed(request, confirmed.privacy_request)
            if confirmed.refused:
                return _message_page(
                    request, title=_("Not filed"), message=confirmed.message, status=400, kind=kind
                )
            if confirmed.starts_again:
                messages.error(request, confirmed.message)
                return redirect("requests:new", kind=kind)
            form.add_error(confirmed.field, confirmed.message)
            outcome = filing.waiting(request, kind)
    return render(
        request,
        "requests/verify.html",
        {
            "form": form,
            "kind": Kind(kind),
            "pending": outcome.pending,
            "summary": selectors.filing_summary(kind=kind, data=outcome.pending.payload),
        },
        status=status,
    )


@login_required
@require_GET
def request_detail(request, reference: UUID):
    privacy_request = _own_request(request, reference)
    copy = selectors.access_copy_for(privacy_request)
    copy_state = selectors.access_copy_state(copy)
    is_deletion = privacy_request.kind == Kind.DELETION
    context = {
        "privacy_request": privacy_request,
        "events": selectors.request_timeline(privacy_request=privacy_request),
        "row": selectors.RequestRow(privacy_request, selectors.days_left(privacy_request)),
        "can_withdraw": selectors.can_withdraw(privacy_request),
        "copy": copy,
        "copy_state": copy_state,
        "refresh": copy_state in (AccessCopy.Status.PENDING, AccessCopy.Status.BUILDING),
        "hold": services.active_hold(request.user)
        if is_deletion and privacy_request.is_open
        else None,
        "scope_labels": selectors.scope_labels(privacy_request),
        "correction_field_label": selectors.correction_field_label(privacy_request),
        "complaint_hint": timeline.COMPLAINT_HINT,
        "notices": selectors.request_notices(privacy_request=privacy_request),
    }
    return render(request, "requests/detail.html", context)


@login_required
@require_GET
def disclosure_list(request):
    """Who received my data: each sharing of the signed-in user's data, newest first."""
    rows = (
        Disclosure.objects.filter(user=request.user)
        .select_related("recipient")
        .prefetch_related("categories")
        .order_by("-disclosed_at", "-pk")
    )
    page = Paginator(rows, DISCLOSURES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "requests/disclosures.html", {"page": page})


@login_required
@require_http_methods(["GET", "POST"])
def request_withdraw(request, reference: UUID):
    """GET asks to confirm (a phone tap is easily a slip); POST withdraws."""
    privacy_request = _own_request(request, reference)
    if not selectors.can_withdraw(privacy_request):
        messages.info(request, _("This request can no longer be withdrawn."))
        return redirect("requests:detail", reference=privacy_request.reference)
    if request.method == "GET":
        return render(request, "requests/withdraw.html", {"privacy_request": privacy_request})
    try:
        services.request_withdraw(privacy_request=privacy_request, user=request.user)
    except services.RequestError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Your request was withdrawn."))
    return redirect("requests:detail", reference=privacy_request.reference)


@login_required
@require_GET
def copy_download(request, reference: UUID):
    privacy_request = _own_request(request, reference)
    copy = selectors.access_copy_for(privacy_request)
    if copy is None:
        raise Http404
    state = selectors.access_copy_state(copy)
    if state == AccessCopy.Status.EXPIRED:
        return _message_page(
            request,
            title=_("This download has expired"),
            message=_(
                "Copies can be downloaded for 7 days, and this one has been deleted. "
                "File a new request to get a fresh copy of your data."
            ),
            status=410,
            privacy_request=privacy_request,
            kind=Kind.ACCESS,
        )
    if state != AccessCopy.Status.READY or not copy.file:
        return _message_page(
            request,
            title=_("Not ready yet"),
            message=_("The copy of your data is not ready to download; its page shows why."),
            status=409,
            privacy_request=privacy_request,
        )
    try:
        handle = copy.file.open("rb")
    except FileNotFoundError as error:
        raise Http404 from error
    built = timezone.localtime(copy.built_at or timezone.now()).date()
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=f"privacy-copy-{built:%Y-%m-%d}.zip",
        content_type="application/zip",
    )
    response["Cache-Control"] = "private, no-store"
    return response
