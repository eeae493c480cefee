from allauth.core.exceptions import RateLimited
from allauth.core.ratelimit import respond_429
from django.conf import settings


class RateLimitedMiddleware:
    """Turn allauth's RateLimited, raised deep inside some flows (the sign-up
    code), into the same 429 page the rate-limited views answer with."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, RateLimited):
            return respond_429(request)
        return None


NO_STORE = "private, no-store"
CREDENTIAL_HEADERS = ("HTTP_AUTHORIZATION", "HTTP_X_PRIVACYPORTAL_SIGNATURE")


class NoStoreMiddleware:
    """``Cache-Control: private, no-store`` on every response that may carry personal data.

    That is every response to a signed-in user, or to a request with credentials: a session
    cookie (a sign-in in progress belongs to that visitor), an ``Authorization`` header (the
    internal API answers about users) or a recipient's signature (a notice's state names
    the subject). A view that already sent ``no-store`` keeps its
    own header (``never_cache`` adds more); a weaker one, such as a max-age, is replaced,
    since any copy kept by a browser or a proxy outlives the user's session. Static files
    never get here (whitenoise answers above), and public pages for anonymous visitors
    stay cacheable.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if self._carries_personal_data(request) and "no-store" not in response.get(
            "Cache-Control", ""
        ):
            response["Cache-Control"] = NO_STORE
        return response

    @staticmethod
    def _carries_personal_data(request) -> bool:
        if settings.SESSION_COOKIE_NAME in request.COOKIES or any(
            header in request.META for header in CREDENTIAL_HEADERS
        ):
            return True
        user = getattr(request, "user", None)
        return bool(user is not None and user.is_authenticated)
