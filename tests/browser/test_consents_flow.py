"""A signed-in user's data use choices, end to end in headless Chromium.

Every basic page opens without a detour to the acceptance page; turning
personalised display on makes Help searches appear in the browsing history;
turning it off with one click erases them and stops the recording (PIPL art. 47);
the receipt downloaded from the history of choices matches the ledger.
"""

import json
import re
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import BrowsingRecord
from consents.models import ConsentEvent, PolicyVersion, Purpose
from consents.selectors import consent_is_given
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.browser

PURPOSE = "personalisation"
PURPOSE_NAME = "Personalised display"
FIRST_QUERY = "storage"
SECOND_QUERY = "deletion"

# Path → the h1 it shows (None: the title of the policy version in force).
BASIC_PAGES = {
    "/account/": "Account Settings",
    "/account/security/": "Security events",
    "/account/my-data/": "My data",
    "/account/consents/": "Data use choices",
    "/account/consents/history/": "History of your choices",
    "/account/history/": "Browsing and search history",
    "/help/": "Help",
    "/policy/": None,
    "/policy/versions/": "Privacy policy versions",
}


def purpose_item(page, code: str = PURPOSE):
    return page.locator(f"li#purpose-{code}")


def help_search(page, base: str, query: str) -> None:
    page.goto(base + reverse("help_search"))
    search = page.get_by_role("search")
    search.locator("input[name=q]").fill(query)
    search.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(rf"/help/\?q={re.escape(query)}$"))
    expect(page.get_by_test_id("result-count")).to_contain_text(f"“{query}”")


def history_entries(page):
    return page.locator("ol.history li")


def test_basic_pages_choices_history_erasure_and_receipt(
    live_server, page, browser_context, sign_in, wait_until
):
    base = live_server.url
    user = UserFactory()
    sign_in(browser_context, user)
    additional = list(Purpose.objects.filter(kind=Purpose.Kind.ADDITIONAL, is_active=True))
    assert additional
    assert not any(consent_is_given(user=user, purpose=p) for p in additional)
    policy_title = PolicyVersion.objects.get(number=1).title_en

    # a) Every basic page opens on its own URL (no detour to /policy/accept/) with its h1.
    for path, heading in BASIC_PAGES.items():
        response = page.goto(base + path)
        assert response is not None, path
        assert response.status == 200, (path, response.status)
        assert response.request.redirected_from is None, (path, response.url)
        expect(page).to_have_url(base + path)
        h1 = page.get_by_role("heading", level=1)
        expect(h1).to_be_visible()
        expect(h1).to_have_text(heading or policy_title)

    # Every additional purpose is off to begin with.
    page.goto(base + reverse("consents:page"))
    for purpose in additional:
        expect(page.locator(f"#state-{purpose.code}")).to_contain_text("Off")

    # b) Personalised display on, with the one "Turn on" button in its list item.
    item = purpose_item(page)
    expect(item.get_by_role("heading", level=3)).to_have_text(PURPOSE_NAME)
    expect(item.locator("form")).to_have_count(1)
    turn_on = item.locator("form").get_by_role("button", name=re.compile(r"^Turn on"))
    expect(turn_on).to_have_count(1)
    turn_on.click()
    expect(page).to_have_url(base + reverse("consents:page") + f"#purpose-{PURPOSE}")
    expect(page.get_by_role("status")).to_contain_text(f"“{PURPOSE_NAME}” is now on.")
    expect(page.locator(f"#state-{PURPOSE}")).to_have_text(re.compile(r"Status:\s*On"))
    assert wait_until(lambda: consent_is_given(user=user, purpose=PURPOSE))

    # c) A Help search is recorded and listed in the browsing history.
    help_search(page, base, FIRST_QUERY)
    page.goto(base + reverse("accounts:history"))
    expect(page.get_by_test_id("personalisation-status")).to_contain_text(
        "Personalised display is on."
    )
    expect(history_entries(page)).to_have_count(1)
    expect(history_entries(page).first).to_contain_text(FIRST_QUERY)
    assert list(BrowsingRecord.objects.filter(user=user).values_list("kind", "text")) == [
        (BrowsingRecord.Kind.SEARCH, FIRST_QUERY)
    ]

    # d) Off again: the page says once that the records collected under it go too, and
    # one more click turns it off and erases them.
    page.goto(base + reverse("consents:page"))
    item = purpose_item(page)
    box = item.get_by_test_id(f"confirm-off-{PURPOSE}")
    # Until the question is open, no button on the page turns it off.
    visible_off = item.locator("form").get_by_role("button", name=re.compile(r"^Turn off"))
    expect(visible_off).to_have_count(0)
    box.locator("summary").click()
    expect(box).to_contain_text(
        f"Turning “{PURPOSE_NAME}” off deletes at once what was collected for it: "
        "Browsing and search records."
    )
    turn_off = box.locator("form").get_by_role("button", name=re.compile(r"^Turn off and delete"))
    expect(turn_off).to_have_count(1)
    assert BrowsingRecord.objects.filter(user=user).exists()
    turn_off.click()
    expect(page).to_have_url(base + reverse("consents:page") + f"#purpose-{PURPOSE}")
    expect(page.get_by_role("status")).to_contain_text(f"“{PURPOSE_NAME}” is now off.")
    expect(page.locator(f"#state-{PURPOSE}")).to_have_text(re.compile(r"Status:\s*Off"))
    assert wait_until(lambda: not consent_is_given(user=user, purpose=PURPOSE))
    page.goto(base + reverse("accounts:history"))
    expect(page.get_by_test_id("personalisation-status")).to_contain_text(
        "Personalised display is off."
    )
    expect(history_entries(page)).to_have_count(0)
    expect(page.get_by_text("Your history is empty.")).to_be_visible()
    assert not BrowsingRecord.objects.filter(user=user).exists()

    # e) With personalisation off, a new search is not recorded.
    help_search(page, base, SECOND_QUERY)
    page.goto(base + reverse("accounts:history"))
    expect(history_entries(page)).to_have_count(0)
    expect(page.get_by_text("Your history is empty.")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text(SECOND_QUERY)
    assert not BrowsingRecord.objects.filter(user=user).exists()

    # The ledger: the policy acceptance from sign-up, then granted and withdrawn.
    events = list(ConsentEvent.objects.filter(user=user).order_by("pk"))
    assert [(e.action, e.purpose.code if e.purpose else None) for e in events] == [
        (ConsentEvent.Action.POLICY_ACCEPTED, None),
        (ConsentEvent.Action.GRANTED, PURPOSE),
        (ConsentEvent.Action.WITHDRAWN, PURPOSE),
    ]
    assert events[0].policy_version.number == 1
    withdrawn = events[2]

    # f) The receipt of the withdrawal, downloaded from the history of choices.
    page.goto(base + reverse("consents:history"))
    expect(page.get_by_role("heading", level=1)).to_have_text("History of your choices")
    rows = page.locator("table.ledger tbody tr")
    expect(rows).to_have_count(3)
    row = rows.filter(has_text="Withdrawn")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(PURPOSE_NAME)
    link = row.get_by_role("link", name="Download receipt")
    expect(link).to_have_attribute("href", reverse("consents:receipt", args=[withdrawn.receipt_id]))
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.failure() is None
    assert download.suggested_filename == f"consent-receipt-{withdrawn.receipt_id}.json"
    receipt = json.loads(Path(download.path()).read_text(encoding="utf-8"))

    assert receipt["version"].startswith("KI-CR-v1.1")
    assert receipt["jurisdiction"] == "CN"
    assert receipt["consentReceiptID"] == str(withdrawn.receipt_id)
    assert receipt["piiPrincipalId"] == user.phone.as_e164
    purpose_entry = receipt["services"][0]["purposes"][0]
    assert purpose_entry["purpose"] == PURPOSE_NAME
    assert purpose_entry["purposeCategory"] == [PURPOSE]
    ledger = receipt["x-ledger"]
    assert ledger["eventHash"] == withdrawn.hash
    assert ledger["previousHash"] == events[1].hash
    assert ledger["action"] == ConsentEvent.Action.WITHDRAWN
    assert ledger["purposeCode"] == PURPOSE
