from django import forms
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from . import services
from .models import Channel, Purpose
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


class ConsentChangeForm(forms.Form):
    """What one switch on the consent page posts: turn one purpose on or off.

    The view passes the purpose code from the URL as ``purpose``. The field looks it
    up whatever its kind or state, so that the service (not this form) is the one
    that refuses basic and retired purposes, with its own message.
    """

    ON = "1"
    OFF = "0"

    purpose = forms.ModelChoiceField(
        queryset=Purpose.objects.all(),
        to_field_name="code",
        error_messages={
            "required": _("This purpose does not exist."),
            "invalid_choice": _("This purpose does not exist."),
        },
    )
    granted = forms.TypedChoiceField(
        choices=[(ON, _("Turn on")), (OFF, _("Turn off"))],
        coerce=lambda value: value == ConsentChangeForm.ON,
        error_messages={
            "required": _("Choose whether to turn this purpose on or off."),
            "invalid_choice": _("Choose whether to turn this purpose on or off."),
        },
    )
    # Set only by the button on the confirmation page ("I separately agree").
    separate_consent = forms.BooleanField(required=False)
    # Set only by the button that turns a purpose off knowing that what was collected for
    # it is deleted too ("Turn off and delete").
    confirm_erase = forms.BooleanField(required=False)

    @property
    def needs_separate_confirmation(self) -> bool:
        """A grant of a separate-consent purpose that did not come from its confirmation page."""
        purpose = self.cleaned_data["purpose"]
        return (
            self.cleaned_data["granted"]
            and purpose.is_active
            and purpose.requires_separate_consent
            and not self.cleaned_data["separate_consent"]
        )
