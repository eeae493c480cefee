"""Mobile numbers in one format on every page, the desk and allauth's: ``+86 138 0013 8000``.

The number is stored and sent in E.164 (``+8613800138000``), which is hard to read
back; people read it in groups, as the international format writes it.
``{% load phones %}…{{ user.phone|phone }}``; Python code (admin columns) calls
``phone_display``.
"""

import phonenumbers
from django import template

register = template.Library()


def phone_display(value) -> str:
    """``value``: a ``PhoneNumber``, an E.164 string or empty. What cannot be parsed is
    shown as it came, so a number is never hidden by its format."""
    if value is None or value == "":
        return ""
    number = getattr(value, "as_e164", None) or str(value)
    try:
        parsed = phonenumbers.parse(number, "CN")
    except phonenumbers.NumberParseException:
        return str(value)
    if not phonenumbers.is_possible_number(parsed):
        return str(value)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


@register.filter(name="phone")
def phone_filter(value) -> str:
    return phone_display(value)
