"""Chinese text uses Chinese punctuation: no ASCII colon or full stop right after a CJK character.

Checked where a reader meets Chinese: the project's zh-hans catalogue, the project's templates
and policy texts, and what the portal actually says for allauth's strings (allauth's own
zh-hans catalogue as overridden by the project's, which LOCALE_PATHS puts first).
"""

from pathlib import Path

import allauth
import pytest
from django.utils import translation

from tests.helpers import ASCII_AFTER_CHINESE, po_entries

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "locale/zh_Hans/LC_MESSAGES/django.po"
ALLAUTH_CATALOG = Path(allauth.__file__).parent / "locale/zh_Hans/LC_MESSAGES/django.po"


def wrong_spots(text: str) -> list[str]:
    return [text[max(0, m.start() - 12) : m.end() + 4] for m in ASCII_AFTER_CHINESE.finditer(text)]


def test_the_checker_finds_ascii_punctuation_after_chinese():
    assert wrong_spots("请输入验证码:")
    assert wrong_spots("已完成.")
    assert wrong_spots("日期 : 今天")
    assert not wrong_spots("请输入验证码：123。网址 https://example.cn/a.html")
    assert not wrong_spots("版本 1.2")


def test_the_project_catalogue_uses_chinese_punctuation():
    found = {
        entry.msgid: spots
        for entry in po_entries(CATALOG)
        for msgstr in entry.msgstrs
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
        for entry in po_entries(catalog):
            said = [entry.said(n) for n in ((1, 2) if entry.plural is not None else (1,))]
            spots = [spot for text in said for spot in wrong_spots(text)]
            if spots:
                found[entry.msgid] = spots
    assert found == {}
