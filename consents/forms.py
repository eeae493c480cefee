from django import forms
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from . import services
from .models import Channel
from .selectors import version_in_force


class PolicyAcceptanceSignupForm(forms.Form):
    """Sign-up's one extra field: acceptance of the policy version in force.

    allauth builds its sign-up form on this class (ACCOUNT_SIGNUP_FORM_CLASS).
    The box is never pre-ticked and covers only the policy: optional uses of
    data are asked for separately, one purpose at a time, in Account Settings.
    """

    accept_policy = forms.BooleanField(
        required=True,
        error_messages={"required": _("To create an account, please accept the privacy policy.")},
    )
    policy_version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.version = version_in_force()
        number = self.version.number if self.version else 0
        self.fields["policy_version"].initial = number
        self.fields["accept_policy"].label = format_html(
            _(
                'I have read and accept the <a href="{}" target="_blank">privacy policy</a> (version {}).'
            ),
            reverse("policy:in_force"),
            number,
        )

    def clean_policy_version(self):
        shown = self.cleaned_data["policy_version"]
        if self.version is None or shown != self.version.number:
            raise forms.ValidationError(
                _(
                    "The privacy policy was updated while you were signing up. Please read it again."
                ),
                code="policy_changed",
            )
        return shown

    def signup(self, request, user) -> None:
        services.policy_accept(
            user=user, version=self.version, express=True, channel=Channel.SIGNUP, request=request
        )
