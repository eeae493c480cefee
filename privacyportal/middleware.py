from allauth.core.exceptions import RateLimited
from allauth.core.ratelimit import respond_429


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
