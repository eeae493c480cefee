"""The recipients' callback for a deletion notice: outside the user pages and the API's
version. Not namespaced, so the notices and the tests reverse it as ``notice_callback``."""

from django.urls import path

from . import api_views

urlpatterns = [
    path("<uuid:key>/callback/", api_views.notice_callback, name="notice_callback"),
]
