"""The public policy pages, the acceptance page and the update notice (DESIGN §1, VI)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import selectors, services
from .diff import diff_texts
from .markdown import render_markdown
from .models import Channel, PolicyVersion

# --- helpers --------------------------------------------------------------------------


def _safe_next(request, default: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    # A path on this site only: redirect() would take anything else without a slash (say
    # "0") for the name of a view, and fail.
    if candidate.startswith("/") and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def _accept_url(next_url: str) -> str:
    return f"{reverse('policy:accept')}?{urlencode({'next': next_url})}"


def _diff_url(from_number: int, to_number: int) -> str:
    return f"{reverse('policy:diff')}?from={from_number}&to={to_number}"


def _version_page(request, version: PolicyVersion, *, in_force: bool):
    # Published numbers run 1, 2, 3… without gaps, so the previous one is number - 1.
    previous = version.number - 1 if version.number > 1 else None
    return render(
        request,
        "policy/version.html",
        {
            "version": version,
            "body_html": render_markdown(version.body, title=version.title),
            "in_force": in_force,
            "previous": previous,
            "diff_url": _diff_url(previous, version.number) if previous else None,
        },
    )


# --- public pages ---------------------------------------------------------------------


def policy_in_force(request):
    version = selectors.version_in_force()
    if version is None:
        raise Http404
    return _version_page(request, version, in_force=True)


def policy_version(request, number: int):
    version = selectors.published_version(number=number)
    if version is None:
        raise Http404
    in_force = selectors.version_in_force()
    return _version_page(request, version, in_force=in_force is not None and in_force == version)


def policy_versions(request):
    return render(
        request, "policy/versions.html", {"versions": list(selectors.published_versions())}
    )


class _BadParameter(Exception):
    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.message = message
        self.status = status


def _version_param(request, name: str) -> PolicyVersion:
    raw = request.GET.get(name, "").strip()
    if not raw:
        raise _BadParameter(_("Choose the two versions to compare."), 400)
    try:
        number = int(raw)
    except ValueError:
        raise _BadParameter(
            _("“%(value)s” is not a version number.") % {"value": raw[:20]}, 400
        ) from None
    version = selectors.published_version(number=number) if number > 0 else None
    if version is None:
        raise _BadParameter(
            _("There is no published version %(number)s.") % {"number": number}, 404
        )
    return version


def policy_diff(request):
    versions = list(selectors.published_versions())
    context = {"versions": versions, "selected_from": None, "selected_to": None}
    try:
        old = _version_param(request, "from")
        context["selected_from"] = old.number
        new = _version_param(request, "to")
        context["selected_to"] = new.number
    except _BadParameter as bad:
        context["selected_from"] = context["selected_from"] or request.GET.get("from", "")
        context["selected_to"] = request.GET.get("to", "")
        context["error"] = bad.message
        return render(request, "policy/diff.html", context, status=bad.status)
    context.update(
        old=old,
        new=new,
        diff=diff_texts(old.body, new.body),
        title_changed=old.title != new.title,
    )
    return render(request, "policy/diff.html", context)


# --- acceptance -------------------------------------------------------------------------


@login_required
def policy_accept_page(request):
    version = selectors.version_in_force()
    if version is None:
        raise Http404
    next_url = _safe_next(request, reverse("home"))
    if request.method == "POST":
        shown = request.POST.get("version", "")
        if shown != str(version.number):
            messages.error(
                request,
                _(
                    "The privacy policy was updated while you were reading it. Please read it again."
                ),
            )
            return redirect(_accept_url(next_url))
        if request.POST.get("decision") == "decline":
            return _decline(request, version, next_url)
        try:
            services.policy_accept(
                user=request.user,
                version=version,
                express=True,
                channel=Channel.SELF_SERVICE,
                request=request,
            )
        except services.ConsentError as error:
            messages.error(request, error.message)
            return redirect(_accept_url(next_url))
        messages.success(
            request,
            _("Thank you: you accepted version %(number)s of the privacy policy.")
            % {"number": version.number},
        )
        return redirect(next_url)

    status = selectors.policy_status_for_user(user=request.user)
    last = selectors.policy_last_express_acceptance(user=request.user)
    previous = last.version if last is not None else None
    show_diff = previous is not None and previous.number < version.number
    return render(
        request,
        "policy/accept.html",
        {
            "version": version,
            "body_html": render_markdown(version.body, title=version.title),
            "status": status,
            "already_accepted": status.accepted >= version.number
            and not status.acceptance_required,
            "previous": previous,
            "diff": diff_texts(previous.body, version.body) if show_diff else None,
            "diff_url": _diff_url(previous.number, version.number) if show_diff else None,
            "changed_purposes": selectors.purposes_changed_since(
                number=previous.number if previous else 0
            ),
            "next": next_url,
        },
    )


def _decline(request, version: PolicyVersion, next_url: str):
    try:
        services.policy_decline(
            user=request.user, version=version, channel=Channel.SELF_SERVICE, request=request
        )
    except services.ConsentError as error:
        messages.error(request, error.message)
        return redirect(_accept_url(next_url))
    messages.info(
        request,
        _(
            "You declined version %(number)s of the privacy policy. What it changes stays "
            "off; everything else works as before. You can accept it later on the policy "
            "acceptance page."
        )
        % {"number": version.number},
    )
    return redirect(next_url)


@require_POST
@login_required
def policy_notice_dismiss(request):
    """The user saw the notice of a non-material version: record it, so it is not shown again."""
    next_url = _safe_next(request, reverse("home"))
    status = selectors.policy_status_for_user(user=request.user)
    if status.acceptance_required:
        # A material version needs express acceptance, never a dismissed notice.
        return redirect(_accept_url(next_url))
    version = selectors.version_in_force()
    # Only the version whose notice was on the page: a newer one gets its own notice.
    if (
        status.notice_pending
        and version is not None
        and not version.is_material
        and request.POST.get("version") == str(version.number)
    ):
        try:
            services.policy_accept(
                user=request.user,
                version=version,
                express=False,
                channel=Channel.SELF_SERVICE,
                request=request,
            )
        except services.ConsentError as error:
            messages.error(request, error.message)
    return redirect(next_url)
