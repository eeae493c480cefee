"""Staff publish a material policy version; the user's pages say it waits for them.

A superuser signs in to the staff desk through its real login form, writes a draft
(starting from the text in force) that changes the terms of personalised display, and
publishes it after a confirmation page that counts the users it affects. A user who had
turned personalised display on keeps their pages, with a banner leading to the acceptance
page, which shows what changed; the consent is suspended until they accept, and stands
again after.
"""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from consents.models import ConsentEvent, PolicyAcceptance, PolicyVersion, Purpose
from consents.selectors import consent_is_given
from consents.services import consent_grant
from privacyportal.models import AuditEntry
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.browser

PASSWORD = "a long passphrase 42"
PURPOSE = "personalisation"
PURPOSE_NAME = "Personalised display"
NEW_SENTENCE_EN = "We now keep search records for 90 days."
NEW_SENTENCE_ZH = "我们现在将搜索记录保存 90 天。"
SUMMARY_EN = "Search records are now kept for 90 days."
SUMMARY_ZH = "搜索记录现保存 90 天。"


def test_published_material_version_waits_for_the_users_acceptance(
    live_server, new_context, sign_in, wait_until
):
    base = live_server.url
    v1 = PolicyVersion.objects.get(number=1)
    personalisation = Purpose.objects.get(code=PURPOSE)

    staff = UserFactory(is_staff=True, is_superuser=True, password=PASSWORD)
    user = UserFactory()
    consent_grant(user=user, purpose=personalisation)
    assert wait_until(lambda: consent_is_given(user=user, purpose=PURPOSE))

    # Before publication the user moves freely (and warms the consent cache).
    user_page = sign_in(new_context(), user).new_page()
    response = user_page.goto(base + reverse("accounts:settings"))
    assert response.status == 200
    expect(user_page).to_have_url(base + reverse("accounts:settings"))

    # 1. The staff member opens the desk and signs in on allauth's form, where it sends them.
    staff_page = new_context().new_page()
    staff_page.goto(base + reverse("admin:login"))
    login_form = staff_page.locator(f"form[action='{reverse('account_login')}']")
    login_form.locator("input[name=login]").fill(staff.phone.as_e164)
    login_form.locator("input[name=password]").fill(PASSWORD)
    login_form.locator("[type=submit]").click()
    expect(staff_page).to_have_url(base + reverse("admin:index"))

    # 2. A material draft that changes the terms of personalised display.
    staff_page.goto(base + reverse("admin:consents_policyversion_add"))
    form = staff_page.locator("form#policyversion_form")
    # The draft starts from the text in force.
    expect(form.locator("[name=body_en]")).to_have_value(v1.body_en)
    expect(form.locator("[name=title_zh_hans]")).to_have_value(v1.title_zh_hans)
    form.locator("[name=title_zh_hans]").fill(v1.title_zh_hans)
    form.locator("[name=title_en]").fill(v1.title_en)
    form.locator("[name=body_zh_hans]").fill(v1.body_zh_hans.rstrip() + f"\n\n{NEW_SENTENCE_ZH}\n")
    form.locator("[name=body_en]").fill(v1.body_en.rstrip() + f"\n\n{NEW_SENTENCE_EN}\n")
    form.locator("[name=summary_zh_hans]").fill(SUMMARY_ZH)
    form.locator("[name=summary_en]").fill(SUMMARY_EN)
    form.locator("[name=is_material]").check()
    # The filter_horizontal widget: pick the option on the "available" side, then "Choose".
    form.locator("select#id_changed_purposes_from").select_option(label=PURPOSE_NAME)
    form.locator("#id_changed_purposes_add").click()
    expect(form.locator("select#id_changed_purposes_to option")).to_have_text([PURPOSE_NAME])
    form.locator("[name=_continue]").click()

    draft = PolicyVersion.objects.get(status=PolicyVersion.Status.DRAFT)
    change_url = base + reverse("admin:consents_policyversion_change", args=[draft.pk])
    expect(staff_page).to_have_url(change_url)
    expect(staff_page.locator("ul.messagelist li.success")).to_contain_text("added successfully")
    assert draft.number is None
    assert draft.is_material
    assert list(draft.changed_purposes.values_list("code", flat=True)) == [PURPOSE]
    assert draft.body_en.endswith(NEW_SENTENCE_EN)
    assert draft.body_zh_hans.endswith(NEW_SENTENCE_ZH)
    # The preview compares the draft with version 1: the new sentences are the insertions.
    preview = staff_page.locator(".field-diff_preview")
    expect(preview.locator("ins", has_text=NEW_SENTENCE_EN)).to_have_count(1)
    expect(preview.locator("ins", has_text=NEW_SENTENCE_ZH)).to_have_count(1)

    # 3. Publish it from the draft's page, after the page that says whom it affects.
    staff_page.get_by_role("button", name="Publish this draft").click()
    expect(staff_page.locator("#content")).to_contain_text("2 users will have to accept it.")
    expect(staff_page.locator("#content")).to_contain_text("1 user has turned one of them on")
    assert not PolicyVersion.objects.get(pk=draft.pk).is_published
    staff_page.get_by_role("button", name="Yes, publish version 2").click()
    expect(staff_page).to_have_url(change_url)
    expect(staff_page.locator("ul.messagelist li.success")).to_have_text(
        "Version 2 is published and in force from now on."
    )
    v2 = PolicyVersion.objects.get(number=2)
    assert v2.pk == draft.pk
    assert v2.status == PolicyVersion.Status.PUBLISHED
    assert v2.published_at is not None
    assert v2.is_material
    audit = AuditEntry.objects.get(action="policy_version.published")
    assert audit.actor_id == staff.pk
    assert audit.target_id == str(v2.pk)
    assert audit.details["number"] == 2
    assert audit.details["changed_purposes"] == [PURPOSE]

    # The grant made under version 1 is suspended until the user accepts version 2.
    assert wait_until(lambda: not consent_is_given(user=user, purpose=PURPOSE))

    # 4. The user's next page opens, with a banner that leads to the acceptance page.
    user_page.goto(base + reverse("accounts:settings"))
    expect(user_page).to_have_url(base + reverse("accounts:settings"))
    pending = user_page.locator(".policy-pending")
    expect(pending).to_contain_text("Version 2 of the privacy policy needs your decision.")
    expect(pending).to_contain_text(SUMMARY_EN)
    expect(pending).to_contain_text(PURPOSE_NAME)
    pending.get_by_role("link", name="Read it, then accept or decline").click()
    expect(user_page).to_have_url(base + reverse("policy:accept") + "?next=%2Faccount%2F")
    expect(user_page.get_by_role("heading", level=1)).to_have_text("The privacy policy has changed")
    main = user_page.locator("main")
    expect(main).to_contain_text("Version 2 of the privacy policy is now in force")
    expect(main).to_contain_text("you accepted version 1")
    expect(main.get_by_role("listitem").filter(has_text=PURPOSE_NAME)).to_have_count(1)
    expect(main).to_contain_text(SUMMARY_EN)
    expect(user_page.get_by_role("heading", name="What changed since version 1")).to_be_visible()
    inserted = main.locator(".diff ins", has_text=NEW_SENTENCE_EN)
    expect(inserted).to_have_count(1)
    expect(inserted).to_be_visible()
    accept_form = main.locator("form.accept-form")
    expect(accept_form.locator("input[name=version]")).to_have_value("2")
    assert not consent_is_given(user=user, purpose=PURPOSE)

    # 5. Accept: back to the page they asked for, consent standing again.
    accept_form.get_by_role("button", name="I accept version 2").click()
    expect(user_page).to_have_url(base + reverse("accounts:settings"))
    expect(user_page.get_by_role("heading", level=1)).to_have_text("Account Settings")
    expect(user_page.locator("ul.messages")).to_contain_text(
        "Thank you: you accepted version 2 of the privacy policy."
    )
    expect(user_page.locator(".policy-pending")).to_have_count(0)

    accepted = ConsentEvent.objects.get(
        user=user, action=ConsentEvent.Action.POLICY_ACCEPTED, policy_version__number=2
    )
    acceptance = PolicyAcceptance.objects.get(user=user, version=v2)
    assert acceptance.express is True
    assert acceptance.event_id == accepted.pk
    assert wait_until(lambda: consent_is_given(user=user, purpose=PURPOSE))

    # And the user moves freely again.
    response = user_page.goto(base + reverse("consents:page"))
    assert response.status == 200
    expect(user_page).to_have_url(base + reverse("consents:page"))
    expect(user_page.locator(f"#state-{PURPOSE}")).to_have_text(re.compile(r"Status:\s*On"))
