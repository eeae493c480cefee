"""The help pages: the search and one page per topic.

A signed-in user's searches and the topics they open go to
``accounts.services.activity_record``, which keeps them only while the user's
personalisation consent is on (policy 2.4.1(2)).
"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.models import BrowsingRecord
from accounts.selectors import personalisation_is_on
from accounts.services import activity_record
from consents.selectors import version_in_force

from .search import QUERY_MAX, help_search_results, query_normalise
from .topics import TOPICS, topic_get


def _recording(request) -> bool | None:
    """For the page's notice: None for visitors, else whether personalisation is on."""
    if not request.user.is_authenticated:
        return None
    return personalisation_is_on(user=request.user)


@require_GET
def help_search(request):
    query, shortened = query_normalise(request.GET.get("q", ""))
    results = version = None
    if query:
        version = version_in_force()
        results = help_search_results(query=query, policy_body=version.body if version else "")
        if request.user.is_authenticated:
            activity_record(user=request.user, kind=BrowsingRecord.Kind.SEARCH, text=query)
    context = {
        "query": query,
        "shortened": shortened,
        "query_max": QUERY_MAX,
        "results": results,
        "version": version,
        "topics": TOPICS,
        "recording": _recording(request),
    }
    return render(request, "help/search.html", context)


@require_GET
def help_topic(request, slug: str):
    topic = topic_get(slug=slug)
    if topic is None:
        raise Http404
    if request.user.is_authenticated:
        activity_record(
            user=request.user,
            kind=BrowsingRecord.Kind.VIEW,
            text=str(topic.title),
            path=request.path,
        )
    context = {
        "topic": topic,
        "topics": [t for t in TOPICS if t.slug != slug],
        "query_max": QUERY_MAX,
        "recording": _recording(request),
    }
    return render(request, "help/topic.html", context)
