import re

# Six digits not touching other digits: works in Chinese texts, where \b does not help.
# Six digits in a message that is about a code: status texts carry a request's short
# reference, whose hex digits can hold six digits in a row too.
CODE_RE = re.compile(r"(?=.*(?:code|验证码))(?:.*?)(?<!\d)(\d{6})(?!\d)", re.S | re.I)


def last_code(outbox, to: str) -> str:
    """The code in the newest message to ``to``."""
    for message in reversed(outbox):
        if message.to == to:
            match = CODE_RE.search(message.body)
            if match:
                return match.group(1)
    raise AssertionError(f"no code was sent to {to}; outbox: {outbox!r}")


def signup_data(phone: str) -> dict:
    """What the sign-up form posts: the number and acceptance of the version in force."""
    from consents.selectors import version_in_force

    return {"phone": phone, "accept_policy": "on", "policy_version": version_in_force().number}
