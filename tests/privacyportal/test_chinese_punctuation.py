"""Chinese text uses Chinese punctuation: no ASCII colon or full stop right after a CJK character.

Checked where a reader meets Chinese: the project's zh-hans catalogue, the project's templates
and policy texts, and what the portal actually says for allauth's strings (allauth's own
zh-hans catalogue as overridden by the project's, which LOCALE_PATHS puts first).
"""

import ast
import re
from pathlib import Path

import allauth
import pytest
from django.utils import translation

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "locale/zh_Hans/LC_MESSAGES/django.po"
ALLAUTH_CATALOG = Path(allauth.__file__).parent / "locale/zh_Hans/LC_MESSAGES/django.po"

# A CJK ideograph or full-width form, then (after optional spaces) an ASCII colon or full stop.
WRONG = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef] *[:.]")


def po_entries(path: Path):
    """(context, msgid, plural msgid, [msgstr…]) for each entry of a .po file."""
    entries, entry, field = [], None, None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if line.startswith('"'):
            if field == "msgstr":
                entry["msgstr"][-1] += ast.literal_eval(line)
            else:
                entry[field] += ast.literal_eval(line)
            continue
        keyword, _, rest = line.partition(" ")
        if keyword in ("msgctxt", "msgid") and (entry is None or entry["msgstr"]):
            entry = {"msgctxt": None, "msgid": "", "msgid_plural": None, "msgstr": []}
            entries.append(entry)
        if keyword.startswith("msgstr"):
            entry["msgstr"].append(ast.literal_eval(rest))
            field = "msgstr"
        else:
            entry[keyword] = ast.literal_eval(rest)
            field = keyword
    return [
        (e["msgctxt"], e["msgid"], e["msgid_plural"], e["msgstr"]) for e in entries if e["msgid"]
    ]


def wrong_spots(text: str) -> list[str]:
    return [text[max(0, m.start() - 12) : m.end() + 4] for m in WRONG.finditer(text)]


def test_the_checker_finds_ascii_punctuation_after_chinese():
    assert wrong_spots("请输入验证码:")
    assert wrong_spots("已完成.")
    assert wrong_spots("日期 : 今天")
    assert not wrong_spots("请输入验证码：123。网址 https://example.cn/a.html")
    assert not wrong_spots("版本 1.2")


def test_the_project_catalogue_uses_chinese_punctuation():
    found = {
        msgid: spots
        for _, msgid, _, msgstrs in po_entries(CATALOG)
        for msgstr in msgstrs
        if (spots := wrong_spots(msgstr))
    }
    assert found == {}


def test_the_project_templates_and_policy_texts_use_chinese_punctuation():
    sources = [
        *sorted((ROOT / "templates").rglob("*.html")),
        *sorted((ROOT / "templates").rglob("*.txt")),
        *sorted((ROOT / "consents/policy").glob("*.zh-hans.md")),
    ]
    assert sources
    found = {
        str(path.relative_to(ROOT)): spots
        for path in sources
        if (spots := wrong_spots(path.read_text(encoding="utf-8")))
    }
    assert found == {}


@pytest.mark.parametrize("catalog", [ALLAUTH_CATALOG], ids=["allauth"])
def test_what_the_portal_says_for_allauth_uses_chinese_punctuation(catalog):
    found = {}
    with translation.override("zh-hans"):
        for context, msgid, plural, _ in po_entries(catalog):
            if plural is not None:
                said = [
                    translation.npgettext(context, msgid, plural, n)
                    if context
                    else translation.ngettext(msgid, plural, n)
                    for n in (1, 2)
                ]
            else:
                said = [
                    translation.pgettext(context, msgid) if context else translation.gettext(msgid)
                ]
            spots = [spot for text in said for spot in wrong_spots(text)]
            if spots:
                found[msgid] = spots
    assert found == {}
