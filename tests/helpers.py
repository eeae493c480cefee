import re

# Six digits not touching other digits: works in Chinese texts, where \b does not help.
CODE_RE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


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
