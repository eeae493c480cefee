from allauth.core.exceptions import RateLimited
from allauth.core.ratelimit import respond_429
from django.conf import settings
from django.dispatch import Signal
from django.utils import translation


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


# Sent when a signed-in user picks a language on the switch; the accounts app keeps it on
# the account. A signal because the kernel imports no app: it only sees the cookie.
language_chosen = Signal()


class AccountLanguageMiddleware:
    """The language follows the account, not only the browser.

    Below AuthenticationMiddleware and LocaleMiddleware. While signed in, the account's
    language (``user.language``, empty until chosen) wins over the cookie: after signing
    in on another device the pages are in the user's language at once, and the cookie is
    set to it. A response that sets the language cookie (Django's ``set_language``) while
    signed in sends ``language_chosen``, so the choice is saved for the next sign-in.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        stored = self._stored_language(request)
        if stored and stored != getattr(request, "LANGUAGE_CODE", None):
            translation.activate(stored)
            request.LANGUAGE_CODE = stored
        response = self.get_response(request)
        # Read again: the request may just have signed the user in (or out).
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return response
        cookie_name = settings.LANGUAGE_COOKIE_NAME
        chosen = response.cookies.get(cookie_name)
        if chosen is not None and chosen.value:
            language_chosen.send(
                sender=self.__class__, request=request, user=user, language=chosen.value
            )
            return response
        stored = getattr(user, "language", "")
        if stored and request.COOKIES.get(cookie_name) != stored:
            response.set_cookie(
                cookie_name,
                stored,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                path=settings.LANGUAGE_COOKIE_PATH,
                domain=settings.LANGUAGE_COOKIE_DOMAIN,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            )
        return response

    @staticmethod
    def _stored_language(request) -> str:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return ""
        language = getattr(user, "language", "")
        return language if language and translation.check_for_language(language) else ""


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
