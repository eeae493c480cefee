"""Data use choices in Account Settings: the switches, the ledger history and receipts.

Thin views: the form checks what was posted, ``services.consent_set`` decides and
writes, selectors read. Every URL is the signed-in user's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from privacyportal.recipients import recipients
from privacyportal.registry import registry

from . import selectors, services
from .forms import ConsentChangeForm
from .models import Purpose
from .receipts import receipt_for_event

HISTORY_PER_PAGE = 25


@dataclass(frozen=True)
class Choice:
    purpose: Purpose
    given: bool
    receipt_id: UUID | None = None
    # Kinds of data collected only under this purpose, erased when it is turned off.
    erased_on_withdrawal: tuple[str, ...] = ()
    # Its "turn off" was posted and waits for the user to confirm the erasure.
    confirming: bool = False
    # Turned on, but held back until the user decides on a pending material version.
    held: bool = False

    @property
    def on(self) -> bool:
        """Something to turn off: given, or held back yet still the user's to withdraw."""
        return self.given or self.held


def _page_url(purpose: Purpose | None = None) -> str:
    url = reverse("consents:page")
    return f"{url}#purpose-{purpose.code}" if purpose is not None else url


def _refused(request, errors, *, status: int):
    """The page for a refused change or an unknown purpose: the reasons, nothing else."""
    return render(
        request,
        "consents/refused.html",
        {"errors": errors, "was_change": request.method == "POST"},
        status=status,
    )


def _erased_on_withdrawal(purpose: Purpose) -> tuple[str, ...]:
    return tuple(str(kind.label) for kind in registry.collected_under(purpose.code))


def _consent_page(request, *, confirming: str = "", status: int = 200):
    """The switches; ``confirming`` is the purpose whose "turn off" waits for the user to
    confirm that what was collected for it goes too."""
    user = request.user
    receipts = selectors.latest_receipt_ids_for_user(user=user)
    held = selectors.consents_held_for_user(user=user)
    choices = [
        Choice(
            purpose,
            given,
            receipts.get(purpose.pk),
            _erased_on_withdrawal(purpose),
            confirming=(given or purpose.code in held) and purpose.code == confirming,
            held=purpose.code in held,
        )
        for purpose, given in selectors.consent_page_for_user(user=user)
    ]
    return render(
        request,
        "consents/page.html",
        {
            "basic": [c for c in choices if c.purpose.is_basic],
            "additional": [c for c in choices if not c.purpose.is_basic],
        },
        status=status,
    )


@login_required
@require_GET
def consent_page(request):
    return _consent_page(request)


def _needs_erase_confirmation(request, form: ConsentChangeForm) -> bool:
    """Turning off a purpose that erases what was collected under it (the browsing
    history for personalisation) is asked once: the user learns the data goes with it."""
    purpose = form.cleaned_data["purpose"]
    if form.cleaned_data["granted"] or form.cleaned_data["confirm_erase"]:
        return False
    if not _erased_on_withdrawal(purpose):
        return False
    if purpose.code in selectors.consents_held_for_user(user=request.user):
        return True
    return any(
        p.code == purpose.code and on
        for p, on in selectors.consent_page_for_user(user=request.user)
    )


@login_required
@require_http_methods(["GET", "POST"])
def purpose_change(request, code: str):
    """GET: the separate-consent confirmation page. POST: turn the purpose on or off."""
    if request.method == "GET":
        return _confirmation_page(request, code)
    form = ConsentChangeForm(
        {
            "purpose": code,
            "granted": request.POST.get("granted"),
            "separate_consent": request.POST.get("separate_consent"),
            "confirm_erase": request.POST.get("confirm_erase"),
        }
    )
    if not form.is_valid():
        if form.has_error("purpose"):
            return _refused(request, form.errors["purpose"], status=404)
        return _refused(request, [e for errors in form.errors.values() for e in errors], status=400)
    purpose = form.cleaned_data["purpose"]
    granted = form.cleaned_data["granted"]
    if form.needs_separate_confirmation:
        # Separate consent (单独同意) is only given on the purpose's own page.
        return redirect("consents:purpose", code=purpose.code)
    if _needs_erase_confirmation(request, form):
        return _consent_page(request, confirming=purpose.code)
    try:
        event = services.consent_set(
            user=request.user,
            purpose=purpose,
            granted=granted,
            request=request,
            separately_confirmed=form.cleaned_data["separate_consent"],
        )
    except services.ConsentError as error:
        return _refused(request, [error.message], status=400)
    names = {"name": purpose.name}
    if event is None:
        messages.info(
            request,
            (_("“%(name)s” was already on.") if granted else _("“%(name)s” was already off."))
            % names,
        )
    elif granted:
        messages.success(request, _("“%(name)s” is now on.") % names)
    elif _erased_on_withdrawal(purpose):
        messages.success(
            request,
            _(
                "“%(name)s” is now off. We stopped using your data for it and deleted what "
                "was collected for it."
            )
            % names,
        )
    else:
        messages.success(
            request, _("“%(name)s” is now off. We stopped using your data for it.") % names
        )
    return redirect(_page_url(purpose))


def _confirmation_page(request, code: str):
    found = next(
        (
            (purpose, given)
            for purpose, given in selectors.consent_page_for_user(user=request.user)
            if purpose.code == code
        ),
        None,
    )
    if found is None:
        return _refused(request, [_("This purpose does not exist.")], status=404)
    purpose, given = found
    if not purpose.requires_separate_consent:
        return redirect(_page_url(purpose))
    return render(
        request,
        "consents/confirm.html",
        {
            "purpose": purpose,
            "given": given,
            "on": ConsentChangeForm.ON,
            # A consent to sharing says to whom: the register's recipients (PIPL art. 23).
            "has_recipients": recipients.has_register(purpose.code),
            "recipients": recipients.for_purpose(purpose.code),
        },
    )


@login_required
@require_GET
def history(request):
    paginator = Paginator(selectors.consent_events_for_user(user=request.user), HISTORY_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    return render(request, "consents/history.html", {"page": page})


@login_required
@require_GET
def receipt(request, receipt_id: UUID):
    event = selectors.consent_event_for_user(user=request.user, receipt_id=receipt_id)
    if event is None:
        raise Http404
    response = JsonResponse(
        receipt_for_event(event, request=request),
        json_dumps_params={"ensure_ascii": False, "indent": 2},
    )
    response["Content-Disposition"] = (
        f'attachment; filename="consent-receipt-{event.receipt_id}.json"'
    )
    response["Cache-Control"] = "private, no-store"
    return response
