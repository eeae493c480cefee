from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from . import selectors, services
from .models import Channel


def policy_in_force(request):
    version = selectors.version_in_force()
    if version is None:
        raise Http404
    return render(request, "policy/version.html", {"version": version})


@login_required
def policy_accept_page(request):
    version = selectors.version_in_force()
    if version is None:
        raise Http404
    next_url = request.POST.get("next") or request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = "/"
    if request.method == "POST":
        services.policy_accept(
            user=request.user, version=version, channel=Channel.SELF_SERVICE, request=request
        )
        return redirect(next_url)
    return render(request, "policy/accept.html", {"version": version, "next": next_url})
