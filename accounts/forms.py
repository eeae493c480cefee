from allauth.account.fields import PasswordField
from allauth.account.forms import ConfirmLoginCodeForm, LoginForm, VerifyPhoneForm
from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .adapter import code_digest
from .avatars import AvatarError, normalise_avatar
from .models import User


class PhoneLoginForm(LoginForm):
    """allauth's login form with an optional password.

    Sign-up collects no password, so allauth drops the field; users who set
    one later sign in with it, everyone else leaves it empty and allauth sends
    a sign-in code instead.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password"] = PasswordField(
            label=_("Password"),
            autocomplete="current-password",
            required=False,
            help_text=_("Leave empty to receive a sign-in code by SMS."),
        )
        self.order_fields(["login", "password"])


class SmsCodeInputMixin:
    """SMS codes are six digits: bring up the number pad and let the phone fill the code in."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].widget.attrs.update(
            {"inputmode": "numeric", "pattern": "[0-9]*", "autocomplete": "one-time-code"}
        )

    def clean_code(self):
        # The session keeps only the code's digest (accounts.adapter): allauth compares digests.
        self.cleaned_data["code"] = code_digest(self.cleaned_data["code"])
        return super().clean_code()


class SmsVerifyPhoneForm(SmsCodeInputMixin, VerifyPhoneForm):
    pass


class SmsConfirmLoginCodeForm(SmsCodeInputMixin, ConfirmLoginCodeForm):
    pass


class NicknameForm(forms.Form):
    nickname = forms.CharField(
        label=_("Nickname"),
        max_length=User._meta.get_field("nickname").max_length,
        required=False,
        help_text=_("Shown on your pages instead of your number. Up to 40 characters."),
    )


class AvatarForm(forms.Form):
    avatar = forms.FileField(
        label=_("Picture"),
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/jpeg,image/png,image/gif,image/webp"}
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["avatar"].help_text = _("JPEG, PNG, GIF or WebP, up to %(size)s MB.") % {
            "size": settings.AVATAR_MAX_BYTES // (1024 * 1024)
        }

    def clean_avatar(self):
        upload = self.cleaned_data["avatar"]
        try:
            return normalise_avatar(upload)
        except AvatarError as error:
            raise forms.ValidationError(error.message, code=error.code) from error


class RemovePasswordForm(forms.Form):
    password = PasswordField(label=_("Current password"), autocomplete="current-password")

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("The password is not correct."), code="wrong_password")
        return password
