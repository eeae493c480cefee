"""Account Settings (账户设置). Thin views: forms validate, services write, selectors read."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import selectors, services
from .forms import AvatarForm, NicknameForm, RemovePasswordForm

SECURITY_EVENTS_PER_PAGE = 25
HISTORY_PER_PAGE = 25


def _settings_page(request, *, nickname_form=None, avatar_form=None, status=200):
    user = request.user
    context = {
        "nickname_form": nickname_form or NicknameForm(initial={"nickname": user.nickname}),
        "avatar_form": avatar_form or AvatarForm(),
        "recent_events": selectors.with_devices(selectors.security_events_for_user(user=user)[:5]),
    }
    return render(request, "accounts/settings.html", context, status=status)


@login_required
@require_GET
def account_settings(request):
    return _settings_page(request)


@login_required
@require_POST
def nickname_update(request):
    form = NicknameForm(request.POST)
    if not form.is_valid():
        return _settings_page(request, nickname_form=form, status=400)
    services.user_update_nickname(
        user=request.user, nickname=form.cleaned_data["nickname"], request=request
    )
    messages.success(request, _("Your nickname was saved."))
    return redirect("accounts:settings")


@login_required
@require_POST
def avatar_upload(request):
    form = AvatarForm(request.POST, request.FILES)
    if not form.is_valid():
        return _settings_page(request, avatar_form=form, status=400)
    services.user_set_avatar(user=request.user, image=form.cleaned_data["avatar"], request=request)
    messages.success(request, _("Your avatar was saved."))
    return redirect("accounts:settings")


@login_required
@require_POST
def avatar_remove(request):
    services.user_remove_avatar(user=request.user, request=request)
    messages.success(request, _("Your avatar was removed."))
    return redirect("accounts:settings")


@login_required
@require_GET
def avatar_image(request):
    """The signed-in user's own avatar; avatars are not public files."""
    avatar = request.user.avatar
    if not avatar:
        raise Http404
    try:
        handle = avatar.open("rb")
    except FileNotFoundError as error:
        raise Http404 from error
    response = FileResponse(handle, content_type="image/png")
    # Opened on its own the file is a picture and nothing else: no script, no form, no
    # plugin even if a browser were to sniff it as something else.
    response["Content-Disposition"] = 'inline; filename="avatar.png"'
    response["Content-Security-Policy"] = (
        "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; sandbox"
    )
    return response


@login_required
@require_http_methods(["GET", "POST"])
def password_remove(request):
    if not request.user.has_usable_password():
        messages.info(request, _("You have no password; you sign in with SMS codes."))
        return redirect("accounts:settings")
    form = RemovePasswordForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        services.user_remove_password(user=request.user, request=request)
        messages.success(
            request, _("Your password was removed. From now on you sign in with SMS codes.")
        )
        return redirect("accounts:settings")
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/password_remove.html", {"form": form}, status=status)


@login_required
@require_GET
def security_events(request):
    paginator = Paginator(
        selectors.security_events_for_user(user=request.user), SECURITY_EVENTS_PER_PAGE
    )
    page = paginator.get_page(request.GET.get("page"))
    context = {"page": page, "events": selectors.with_devices(page.object_list)}
    return render(request, "accounts/security_events.html", context)


@login_required
@require_GET
def my_data(request):
    sections = selectors.my_data_for_user(user=request.user)
    return render(request, "accounts/my_data.html", {"sections": sections})


def _history_page_url(request) -> str:
    """Back to the page of the history the user was on (the form posts its number)."""
    page = request.POST.get("page", "")
    url = reverse("accounts:history")
    return f"{url}?page={page}" if page.isdigit() and page != "1" else url


@login_required
@require_GET
def history(request):
    paginator = Paginator(selectors.browsing_records_for_user(user=request.user), HISTORY_PER_PAGE)
    context = {
        "page": paginator.get_page(request.GET.get("page")),
        "personalisation_on": selectors.personalisation_is_on(user=request.user),
    }
    return render(request, "accounts/history.html", context)


@login_required
@require_POST
def history_delete(request, pk: int):
    if not services.browsing_record_delete(user=request.user, record_id=pk):
        raise Http404
    messages.success(request, _("The record was deleted."))
    return redirect(_history_page_url(request))


@login_required
@require_POST
def history_clear(request):
    deleted = services.browsing_history_clear(user=request.user)
    if deleted:
        messages.success(
            request,
            ngettext(
                "Your history was deleted (%(count)d record).",
                "Your history was deleted (%(count)d records).",
                deleted,
            )
            % {"count": deleted},
        )
    else:
        messages.info(request, _("Your history was already empty."))
    return redirect("accounts:history")
