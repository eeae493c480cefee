"""The benchmark server's URLconf: the portal's own URLs plus the floors they are measured against.

Only ``bench.settings`` (used by ``make bench``) routes here; production never
serves these views.
"""

import json

from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


def trivial_json(request):
    """The floor for a JSON endpoint: the same server and middleware, no work."""
    return JsonResponse({"ok": True})


@csrf_exempt
def trivial_json_echo(request):
    """The floor for a bulk JSON endpoint: parse the same body and answer one entry per id."""
    try:
        ids = json.loads(request.body)["user_ids"]
    except (ValueError, KeyError, TypeError):
        return HttpResponseBadRequest()
    return JsonResponse({"results": [{"user_id": i, "given": True} for i in ids]})


def trivial_page(request):
    """The floor for an HTML page: the same server and middleware, a fixed tiny page."""
    return HttpResponse("<!doctype html><title>ok</title><p>ok</p>")


urlpatterns = [
    path("bench/trivial.json", trivial_json),
    path("bench/echo.json", trivial_json_echo),
    path("bench/trivial/", trivial_page),
    path("", include("privacyportal.urls")),
]

handler429 = "privacyportal.views.handler429"
