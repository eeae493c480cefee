from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from . import selectors


@login_required
def consent_page(request):
    return render(
        request,
        "consents/page.html",
        {"purposes": selectors.consent_page_for_user(user=request.user)},
    )
