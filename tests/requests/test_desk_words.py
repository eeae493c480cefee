"""The staff desk reads right in zh-hans: the answer page shows the question, users are
picked by their number, "History" is the change history, one accounts section, and
Django's own strings that Django leaves in English read in Chinese."""

import json
import re
from pathlib import Path

import django
import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone, translation

from privacyportal.admin import DJANGO_STRINGS
from requests import services
from requests.models import Disclosure, PrivacyRequest
from tests.accounts.factories import UserFactory
from tests.helpers import ASCII_AFTER_CHINESE, po_entries
from tests.requests.factories import CorrectionFactory, QuestionFactory, RecipientFactory

pytestmark = pytest.mark.django_db

Kind = PrivacyRequest.Kind
CHANGELIST = "admin:requests_privacyrequest_changelist"
DJANGO_ADMIN_LOCALE = Path(django.__file__).parent / "contrib/admin/locale/en/LC_MESSAGES"
PLACEHOLDER = re.compile(r"%(\([a-z_]+\))?[sdr]")


@pytest.fixture
def superuser():
    return UserFactory(
        phone="+8613700137000", is_staff=True, is_superuser=True, nickname="Officer Wu"
    )


@pytest.fixture
def desk(client, superuser):
    client.force_login(superuser)
    client.cookies["django_language"] = "zh-hans"
    return client


def page(client, url, params=None):
    response = client.get(url, params or {})
    assert response.status_code == 200, response.content.decode()[:2000]
    return response.content.decode()


def action_page(client, action, requests):
    response = client.post(
        reverse(CHANGELIST), {"action": action, "_selected_action": [r.pk for r in requests]}
    )
    assert response.status_code == 200, response.content.decode()[:2000]
    return response.content.decode()


# --- the answer page --------------------------------------------------------------------------


def test_the_answer_page_shows_the_users_question_above_the_answer(desk, superuser):
    asked = QuestionFactory(
        details="Which shops received my address?\nAnd since when?", started_by=superuser
    )
    html = action_page(desk, "complete_requests", [asked])

    assert "用户的请求内容" in html
    question = html.index("Which shops received my address?<br>And since when?")
    assert question < html.index('name="answer"')
    assert str(asked.reference)[:8] in html

    # A correction shows what the user asked to change as well as what they wrote.
    fix = CorrectionFactory(
        correction_value="Xiao Hong", details="I married.", started_by=superuser
    )
    html = action_page(desk, "complete_requests", [fix])
    assert "要更正的信息：" in html and "“Xiao Hong”" in html
    assert html.index("I married.") < html.index('name="answer"')

    # Rejecting is answering too: the same text is above the reason.
    html = action_page(desk, "reject_requests", [asked])
    assert html.index("Which shops received my address?") < html.index('name="reason"')

    # Pages that answer nothing (extending the deadline) do not repeat the text.
    html = action_page(desk, "extend_requests", [asked])
    assert "Which shops received my address?" not in html


def test_a_correction_without_text_says_so(desk, superuser):
    fix = CorrectionFactory(correction_value="Xiao Hong", details="", started_by=superuser)
    html = action_page(desk, "complete_requests", [fix])
    assert "“Xiao Hong”" in html and "用户没有填写更多内容。" in html


# --- users are picked by their number ---------------------------------------------------------


def test_a_user_reads_as_the_number_and_nickname_and_a_closed_account_as_closed():
    user = UserFactory(phone="+8613800138000", nickname="Xiao Ming")
    assert str(user) == "+86 138 0013 8000 (Xiao Ming)"
    assert str(UserFactory(phone="+8613800138001")) == "+86 138 0013 8001"
    closed = UserFactory()
    get_user_model().objects.filter(pk=closed.pk).update(phone=None)
    closed.refresh_from_db()
    with translation.override("zh-hans"):
        assert str(closed) == f"#{closed.pk} (已注销)"
        # The request's closing date keeps its own word.
        assert str(PrivacyRequest._meta.get_field("closed_at").verbose_name) == "结束时间"
    with translation.override("en"):
        assert str(closed) == f"#{closed.pk} (closed)"


def autocomplete(client, model_name, term):
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "requests", "model_name": model_name, "field_name": "user", "term": term},
    )
    assert response.status_code == 200
    return [row["text"] for row in response.json()["results"]]


def test_the_legal_hold_page_picks_users_by_phone_number(desk, superuser):
    user = UserFactory(phone="+8613800138000", nickname="Xiao Ming")
    assert autocomplete(desk, "legalhold", "138 0013 8000") == ["+86 138 0013 8000 (Xiao Ming)"]
    assert autocomplete(desk, "legalhold", "Xiao Ming") == ["+86 138 0013 8000 (Xiao Ming)"]

    # The chosen user, shown again with the form's error, is the number too.
    url = reverse("admin:requests_legalhold_add")
    response = desk.post(url, {"user": user.pk, "reason": ""})
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(
        rf'<option value="{user.pk}" selected>\+86 138 0013 8000 \(Xiao Ming\)</option>', html
    ), html[:3000]
    assert "结束时间" not in html

    # Once set, the hold's list and page name the user by number.
    services.legal_hold_set(user=user, reason="Court order 7", actor=superuser)
    assert "+86 138 0013 8000 (Xiao Ming)" in page(
        desk, reverse("admin:requests_legalhold_changelist")
    )


def test_the_disclosure_page_picks_users_by_phone_number(desk):
    user = UserFactory(phone="+8613800138000", nickname="Xiao Ming")
    assert autocomplete(desk, "disclosure", "13800138000") == ["+86 138 0013 8000 (Xiao Ming)"]
    recipient = RecipientFactory(name="Acme Logistics", categories=[])
    response = desk.post(
        reverse("admin:requests_disclosure_add"),
        {
            "user": user.pk,
            "recipient": recipient.pk,
            "subject_identifier": "C-1",
            "basis": Disclosure.Basis.CONSENT,
            "disclosed_at_0": timezone.localdate().isoformat(),
            "disclosed_at_1": "00:00:00",
        },
    )
    assert response.status_code == 200  # no categories: the form comes back
    html = response.content.decode()
    assert re.search(
        rf'<option value="{user.pk}" selected>\+86 138 0013 8000 \(Xiao Ming\)</option>', html
    )


def test_the_request_page_and_the_assignee_filter_show_phone_numbers(desk, superuser):
    colleague = UserFactory(phone="+8613600136000", is_staff=True, nickname="Agent Li")
    asked = QuestionFactory(
        user=UserFactory(phone="+8613800138000", nickname="Xiao Ming"), details="What do you keep?"
    )
    services.request_assign(privacy_request=asked, assignee=colleague, actor=superuser)
    other = QuestionFactory(details="And me?")
    services.request_assign(privacy_request=other, assignee=superuser, actor=superuser)

    response = desk.get(reverse(CHANGELIST))
    assignee_filter = next(
        spec
        for spec in response.context["cl"].filter_specs
        if getattr(spec, "parameter_name", None) == "assignee"
    )
    shown = [choice["display"] for choice in assignee_filter.choices(response.context["cl"])]
    assert "+86 136 0013 6000 (Agent Li)" in shown
    assert "+86 137 0013 7000 (Officer Wu)" in shown
    html = response.content.decode()
    assert "+86 136 0013 6000 (Agent Li)" in html

    html = page(desk, reverse("admin:requests_privacyrequest_change", args=[asked.pk]))
    assert "+86 138 0013 8000 (Xiao Ming)" in html  # the user
    assert "+86 136 0013 6000 (Agent Li)" in html  # the assignee


# --- History, the index ------------------------------------------------------------------------


def test_history_reads_as_the_change_history_on_the_desk_and_as_browsing_on_the_portal(
    desk, client, superuser
):
    recipient = RecipientFactory(name="Acme Logistics", categories=[])
    change = page(desk, reverse("admin:requests_recipient_change", args=[recipient.pk]))
    history_url = reverse("admin:requests_recipient_history", args=[recipient.pk])
    assert f'<a href="{history_url}" class="historylink">修改历史</a>' in change

    history = page(desk, history_url)
    assert "修改历史：Acme Logistics" in history
    assert "浏览记录" not in history

    # The portal's own "History" (the user's browsing records) keeps its meaning.
    browsing = page(desk, reverse("accounts:history"))
    assert re.search(r"<title>\s*浏览记录 · ", browsing), browsing[:500]


def test_the_index_has_one_accounts_section_and_no_email_addresses(desk):
    from allauth.account.models import EmailAddress

    assert not admin.site.is_registered(EmailAddress)
    response = desk.get(reverse("admin:index"))
    assert response.status_code == 200
    sections = [str(app["name"]) for app in response.context["app_list"]]
    assert len(sections) == len(set(sections)), sections
    assert "account" not in [app["app_label"] for app in response.context["app_list"]]
    assert "用户与账户" in sections and "账户" not in sections
    html = response.content.decode()
    assert "电子邮件地址" not in html and "Email addresses" not in html
    # The table's headers, which Django's own catalogue leaves in English.
    assert "模型名称" in html and "Model name" not in html


def test_the_desk_says_sign_out_as_the_portal_does_and_greets_by_name(desk, superuser):
    html = page(desk, reverse("admin:index"))
    # 注销 is closing an account on the user pages; signing out is 退出登录 everywhere.
    assert "退出登录" in html and ">注销<" not in html
    assert "Officer Wu" in html
    superuser.nickname = ""
    superuser.save()
    assert "+86 137 0013 7000" in page(desk, reverse("admin:index"))


# --- Django's own strings -------------------------------------------------------------------


PLURALS = [
    "This password is too short. It must contain at least %d character.",
    "Ensure that there are no more than %(max)s decimal place.",
    "Ensure that there are no more than %(max)s digit in total.",
]


def test_djangos_strings_read_in_chinese_with_chinese_punctuation():
    singular = [msgid for msgid in DJANGO_STRINGS if isinstance(msgid, str)]
    assert len(DJANGO_STRINGS) - len(singular) == len(PLURALS)
    with translation.override("zh-hans"):
        texts = {msgid: translation.gettext(msgid) for msgid in singular if msgid != ":"}
        texts.update({msgid: translation.ngettext(msgid, msgid, 8) for msgid in PLURALS})
        for msgid, text in texts.items():
            assert text != msgid and re.search(r"[\u4e00-\u9fff]", text), msgid
            assert not ASCII_AFTER_CHINESE.search(text), text
        # Every form label's suffix.
        assert translation.gettext(":") == "："


def test_a_form_on_the_desk_labels_its_fields_with_a_chinese_colon(desk):
    html = page(desk, reverse("admin:requests_legalhold_add"))
    assert '<label class="required" for="id_user">用户：</label>' in html
    assert "用户:" not in html


def test_every_string_of_djangos_admin_has_chinese():
    """Django's admin catalogue, as the desk reads it in zh-hans (Django's own zh_Hans
    merged with the project's): nothing falls back to English."""
    entries = po_entries(DJANGO_ADMIN_LOCALE / "django.po")
    assert len(entries) > 150
    untranslated = []
    with translation.override("zh-hans"):
        for entry in entries:
            # n=1: an untranslated entry then reads as its msgid, plural or not (zh-hans
            # has one form); "%(class_name)s %(instance)s" has no words to translate.
            text = entry.said(1)
            if text == entry.msgid and re.search(r"[A-Za-z]", PLACEHOLDER.sub("", entry.msgid)):
                untranslated.append(entry.msgid)
    assert untranslated == []


def test_every_string_of_the_admin_widgets_has_chinese(desk):
    """The widgets' JavaScript catalogue (admin:jsi18n) in zh-hans holds every string of
    Django's admin scripts, the project's djangojs catalogue filling Django's gaps."""
    script = page(desk, reverse("admin:jsi18n"))
    catalog = json.loads(re.search(r"const newcatalog = (\{.*?\});\n", script, re.S).group(1))
    missing = [
        entry.msgid
        for entry in po_entries(DJANGO_ADMIN_LOCALE / "djangojs.po")
        if (f"{entry.context}\x04{entry.msgid}" if entry.context else entry.msgid) not in catalog
    ]
    assert missing == []
    assert catalog["Choose all %s"] == "全选%s"
    assert catalog["(click to clear)"] == "（点击清除）"
    assert catalog["Now"] == "现在" and catalog["Today"] == "今天"
    texts = [text for text in catalog.values() if isinstance(text, str)]
    assert [text for text in texts if ASCII_AFTER_CHINESE.search(text)] == []
