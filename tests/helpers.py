import json
import re
from dataclasses import dataclass
from pathlib import Path

from django.utils import translation

# Six digits not touching other digits (\b does not help in Chinese texts), in a message
# that is about a code: status texts carry a request's short
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


# A CJK character or full-width form, then (after optional spaces) an ASCII colon or full
# stop: Chinese text wants ：and 。 there.
ASCII_AFTER_CHINESE = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef] *[:.]")


@dataclass(frozen=True)
class PoEntry:
    context: str | None
    msgid: str
    plural: str | None
    msgstrs: tuple[str, ...]

    def said(self, n: int = 1) -> str:
        """What the active language says for this entry (its catalogues, in Django's order)."""
        if self.plural is not None:
            if self.context:
                return translation.npgettext(self.context, self.msgid, self.plural, n)
            return translation.ngettext(self.msgid, self.plural, n)
        if self.context:
            return translation.pgettext(self.context, self.msgid)
        return translation.gettext(self.msgid)


def po_entries(path: Path) -> list[PoEntry]:
    """Every entry of a .po file but its header."""
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, str] = {}
        current = None
        for line in block.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line.startswith('"'):
                fields[current] += json.loads(line)
                continue
            current, _, rest = line.partition(" ")
            fields[current] = json.loads(rest)
        if fields.get("msgid"):
            entries.append(
                PoEntry(
                    context=fields.get("msgctxt"),
                    msgid=fields["msgid"],
                    plural=fields.get("msgid_plural"),
                    msgstrs=tuple(v for k, v in fields.items() if k.startswith("msgstr")),
                )
            )
    return entries
