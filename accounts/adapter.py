"""allauth's account adapter for phone-only accounts.

allauth drives sign-up, sign-in by code or password, phone verification and
rate limits; this adapter stores what it decides through ``accounts.services``
and sends its codes through the portal's SMS queue.
"""

import threading

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.internal.flows.login import get_authentication_records
from allauth.core.internal.cryptokit import normalize_user_code
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from privacyportal.sms import queue_sms

from . import services
from .fields import MobileNumberField
from .models import SecurityEvent

# allauth strings whose zh-hans puts an ASCII colon after Chinese ("输入您的密码:"); the
# project's catalogue words them with Chinese punctuation. Listed so that makemessages keeps
# their entries (tests/privacyportal/test_chinese_punctuation.py reads all of allauth's).
ALLAUTH_REWORDED = (
    gettext_noop("Enter your password:"),
    gettext_noop(
        "If you do not recognize this change then please take proper security precautions "
        "immediately. The change to your account originates from:\n\n- IP address: %(ip)s\n"
        "- Browser: %(user_agent)s\n- Date: %(timestamp)s"
    ),
)
# SMS codes (sign-in, sign-up, phone verification) are never kept: allauth keeps what
# generate_phone_verification_code returns in the session (its database row, its Redis
# copy, every backup), so that is a keyed digest; the code itself stays in this thread's
# memory until send_verification_code_sms texts it. The forms compare the digest of what
# the user types (accounts.forms.SmsCodeInputMixin).
DIGEST_PREFIX = "sha256-"
_pending = threading.local()


def code_digest(code: str) -> str:
    """The keyed digest kept in place of an SMS code: keyed by SECRET_KEY, so a copy of the
    session store cannot be checked against the million six-digit codes."""
    normalised = normalize_user_code(code)
    digest = salted_hmac("accounts.sms_code", normalised, algorithm="sha256").hexdigest()
    return DIGEST_PREFIX + digest


class AccountAdapter(DefaultAccountAdapter):
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        # allauth uses this for password guessing and for asking codes too often alike.
        "too_many_login_attempts": gettext_lazy(
            "Too many attempts. To protect your account, wait a few minutes and try again."
        ),
        # allauth's zh-hans reads "错误代码" (error code); the SMS calls it 验证码.
        "incorrect_code": gettext_lazy(
            "This verification code is not right. Check the latest SMS and try again."
        ),
    }

    def phone_form_field(self, **kwargs):
        return MobileNumberField(**kwargs)

    def generate_phone_verification_code(self, *, user, phone: str) -> str:
        code = super().generate_phone_verification_code(user=user, phone=phone)
        digest = code_digest(code)
        _pending.codes = {digest: code}
        return digest

    def send_verification_code_sms(self, user, phone: str, code: str, **kwargs) -> None:
        # allauth passes what it stored, the digest: text the code it stands for.
        code = getattr(_pending, "codes", {}).pop(code, None)
        if code is None:
            raise ValueError("No SMS code was generated for this message in this request.")
        queue_sms(
            to=phone,
            body=_(
                "Your verification code is %(code)s. It expires in 15 minutes. "
                "Never share it with anyone."
            )
            % {"code": code},
        )

    def send_account_already_exists_sms(self, phone: str) -> None:
        # Sign-up with a registered number: tell the owner instead of revealing it on screen.
        queue_sms(
            to=phone,
            body=_(
                "Someone tried to sign up with this number, which already has an account. "
                "To sign in, use 'Send me a sign-in code'. If this was not you, ignore this message."
            ),
        )

    def send_unknown_account_sms(self, phone: str, **kwargs) -> None:
        queue_sms(
            to=phone,
            body=_(
                "Someone asked to sign in with this number, but it has no account. "
                "If this was you, sign up first. If not, ignore this message."
            ),
        )

    def get_phone(self, user):
        if not user.phone:
            return None
        return user.phone.as_e164, user.phone_verified

    def set_phone(self, user, phone: str, verified: bool) -> None:
        # allauth calls this while signing up (saved by save_user) and when a
        # pending change is corrected; the number on file changes only once verified.
        if user.pk is None or not user.phone:
            user.phone = phone
            user.phone_verified = verified
        elif verified:
            services.user_mark_phone_verified(user=user, phone=phone, request=self.request)

    def set_phone_verified(self, user, phone: str) -> None:
        services.user_mark_phone_verified(user=user, phone=phone, request=self.request)

    def get_user_by_phone(self, phone: str):
        return get_user_model().objects.filter(phone=phone).first()

    def save_user(self, request, user, form, commit=True):
        phone = form.cleaned_data["phone"]
        if not commit:
            user.phone = phone
            user.set_unusable_password()
            return user
        return services.user_sign_up(user=user, phone=phone, request=request)

    def set_password(self, user, password: str) -> None:
        services.user_set_password(user=user, password=password, request=self.request)

    def get_password_change_redirect_url(self, request):
        return reverse("accounts:settings")

    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        # allauth keys the wrong-password lockout by e-mail or username. Accounts here have
        # neither, so every number would share one counter: one guesser would lock everyone
        # out, and nothing would be counted per account.
        phone = credentials.get("phone")
        if phone:
            return f"phone:{phone}"
        return super()._get_login_attempts_cache_key(request, **credentials)

    def pre_authenticate(self, request, **credentials) -> None:
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError:
            self._record_refused_sign_in(request, credentials, detail="locked out")
            raise

    def authentication_failed(self, request, **credentials) -> None:
        self._record_refused_sign_in(request, credentials, detail="password")
        super().authentication_failed(request, **credentials)

    def _record_refused_sign_in(self, request, credentials: dict, *, detail: str) -> None:
        """A wrong password (at sign-in or re-authentication), or one refused during the
        lockout, is a security event of the account it was tried on, staff or not."""
        phone = credentials.get("phone")
        user = self.get_user_by_phone(phone) if phone and credentials.get("password") else None
        if user is not None:
            services.security_event_record(
                user=user, kind=SecurityEvent.Kind.SIGN_IN_FAILED, request=request, detail=detail
            )

    def post_login(self, request, user, **kwargs):
        records = get_authentication_records(request, user) or []
        # After sign-up allauth records no method: the number was just verified by code.
        method = records[-1]["method"] if records else ("code" if kwargs.get("signup") else "")
        services.security_event_record(
            user=user, kind=SecurityEvent.Kind.SIGNED_IN, request=request, detail=method
        )
        return super().post_login(request, user, **kwargs)

    def logout(self, request) -> None:
        if request.user.is_authenticated:
            services.security_event_record(
                user=request.user, kind=SecurityEvent.Kind.SIGNED_OUT, request=request
            )
        super().logout(request)
