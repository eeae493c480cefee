import phonenumbers
from django import forms
from django.utils.translation import gettext_lazy as _
from phonenumber_field.formfields import PhoneNumberField

MOBILE_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}


class MobileNumberField(PhoneNumberField):
    """A mobile number as people type it (spaces, dashes, with or without +86), cleaned to E.164.

    allauth's phone flows take the number as a string, so ``clean`` returns the
    E.164 text rather than a ``PhoneNumber``.
    """

    default_error_messages = {
        "invalid": _("Enter a valid mobile number, e.g. 138 0013 8000 or +86 138 0013 8000."),
        "not_mobile": _(
            "This is not a mobile number. Enter a number that can receive text messages."
        ),
    }

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("region", "CN")
        # allauth passes its own generic "Phone" label; this field is always a mobile number.
        kwargs["label"] = _("Mobile number")
        kwargs.setdefault(
            "widget",
            forms.TextInput(
                attrs={
                    "type": "tel",
                    "autocomplete": "tel",
                    "inputmode": "tel",
                    "placeholder": _("e.g. 138 0013 8000"),
                }
            ),
        )
        super().__init__(*args, **kwargs)

    def clean(self, value):
        number = super().clean(value)
        if number in self.empty_values:
            return ""
        if phonenumbers.number_type(number) not in MOBILE_TYPES:
            raise forms.ValidationError(self.error_messages["not_mobile"], code="not_mobile")
        return number.as_e164
