"""Property-based fuzz of every form a user posts: whatever is sent, never a 5xx.

Each endpoint gets its own fields with arbitrary text (NUL, control characters, any
Unicode, very long strings) plus arbitrary extra fields, posted through the test client
anonymously or as a signed-in user. Form pages must answer with a re-render (200, or 400
with the errors), a redirect, or a refusal they are meant to give (404 for an unknown
object, 405, 429 for a rate limit). Derandomized: the same examples on every run.
"""

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consents.models import Purpose
from requests.models import PrivacyRequest

from .world import build_world

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

short = st.text(max_size=40)
# Control characters and NUL, which PostgreSQL text columns refuse.
nasty = st.text(alphabet=st.characters(max_codepoint=0x1F), max_size=10)
huge = st.builds(
    lambda char, n: char * n, st.characters(exclude_categories=["Cs"]), st.integers(1_000, 60_000)
)
digits = st.from_regex(r"\A[0-9]{0,8}\Z")
value = st.one_of(short, nasty, huge, digits, st.sampled_from(["", "on", "1", "0", "en", "/"]))
extra = st.dictionaries(st.text(min_size=1, max_size=12), value, max_size=3)

ANONYMOUS = {
    "account_signup": ["phone", "accept_policy", "policy_version"],
    "account_login": ["login", "password"],
    "account_request_login_code": ["phone"],
    "account_confirm_login_code": ["code"],
    "set_language": ["language", "next"],
}
SIGNED_IN = {
    "accounts:nickname": ["nickname"],
    "accounts:password_remove": ["password"],
    "account_set_password": ["password1", "password2"],
    "account_change_password": ["oldpassword", "password1", "password2"],
    "account_change_phone": ["phone"],
    "account_verify_phone": ["code"],
    "policy:accept": ["version", "next"],
    "policy:notice_dismiss": ["version", "next"],
    "accounts:history_clear": ["page"],
    **{
        f"requests:new:{kind}": fields
        for kind, fields in {
            "access": [],
            "correction": ["correction_field", "correction_value", "details"],
            "deletion": ["ground", "scope", "scope_kinds", "details"],
            "question": ["details"],
        }.items()
    },
    "requests:verify:access": ["code", "resend"],
    "requests:verify:deletion": ["code"],
    "consents:purpose": ["granted", "separate_consent"],
    "requests:withdraw": ["confirm"],
}
EXPECTED = {200, 302, 400, 404, 405, 429}


def url_for(name, world):
    if name.startswith("requests:new:") or name.startswith("requests:verify:"):
        route, kind = name.rsplit(":", 1)
        return reverse(route, kwargs={"kind": kind})
    if name == "consents:purpose":
        return reverse(name, kwargs={"code": Purpose.objects.order_by("code").last().code})
    if name == "requests:withdraw":
        open_request = PrivacyRequest.objects.filter(user=world.owner).order_by("pk").last()
        return reverse(name, kwargs={"reference": open_request.reference})
    return reverse(name)


def form_data(fields):
    return st.fixed_dictionaries({}, optional=dict.fromkeys(fields, value)).flatmap(
        lambda data: extra.map(lambda more: {**more, **data})
    )


@pytest.fixture
def world(media_root):
    return build_world()


def check(client, url, data):
    response = client.post(url, data)
    assert response.status_code in EXPECTED, (url, data, response.status_code)


@pytest.mark.parametrize("name", sorted(ANONYMOUS))
def test_anonymous_forms_never_fail(client, world, name):
    url = url_for(name, world)

    @FUZZ
    @given(data=form_data(ANONYMOUS[name]))
    def fuzz(data):
        check(client, url, data)

    fuzz()


@pytest.mark.parametrize("name", sorted(SIGNED_IN))
def test_signed_in_forms_never_fail(client, world, name):
    client.force_login(world.owner)
    url = url_for(name, world)

    @FUZZ
    @given(data=form_data(SIGNED_IN[name]))
    def fuzz(data):
        check(client, url, data)

    fuzz()


def test_search_and_policy_pages_take_any_query(client, world):
    client.force_login(world.owner)

    @FUZZ
    @given(q=value, number_from=value, number_to=value, page=value)
    def fuzz(q, number_from, number_to, page):
        for url, params in (
            (reverse("help_search"), {"q": q}),
            (reverse("policy:diff"), {"from": number_from, "to": number_to}),
            (reverse("accounts:history"), {"page": page}),
            (reverse("requests:disclosures"), {"page": page}),
            (reverse("policy:accept"), {"next": q}),
        ):
            response = client.get(url, params)
            assert response.status_code in EXPECTED, (url, params, response.status_code)

    fuzz()


def test_any_bytes_as_an_avatar_are_refused_or_stored(client, world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(world.owner)

    @FUZZ
    @given(content=st.binary(max_size=2_000), name=short, content_type=short)
    def fuzz(content, name, content_type):
        upload = SimpleUploadedFile(name or "x", content, content_type=content_type or "a/b")
        response = client.post(reverse("accounts:avatar"), {"avatar": upload})
        assert response.status_code in (302, 400), response.status_code

    fuzz()


@pytest.mark.parametrize("name", ["policy:accept", "policy:notice_dismiss"])
@pytest.mark.parametrize("next_url", ["0", "home", "javascript:alert(1)", "//evil.example/"])
def test_a_next_that_is_not_a_path_here_goes_home(client, world, name, next_url):
    """Found by the fuzz: "0" was taken for a view name by redirect() and gave a 500."""
    from consents.selectors import version_in_force

    client.force_login(world.owner)
    data = {"version": str(version_in_force().number), "next": next_url}
    response = client.post(reverse(name), data)
    assert response.status_code == 302
    assert response["Location"] in (reverse("home"), f"{reverse('policy:accept')}?next=%2F")
