import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from consents import services
from consents.cache import consent_cache
from consents.models import (
    ConsentEvent,
    ConsentState,
    DataCategory,
    PolicyAcceptance,
    PolicyVersion,
    Purpose,
)
from consents.selectors import consent_is_given
from privacyportal.models import AuditEntry
from tests.accounts.factories import UserFactory
from tests.consents.test_cache import listening

# Purpose and policy changes invalidate the consent cache on commit.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def personalisation():
    return Purpose.objects.get(code="personalisation")


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def draft(**overrides):
    v1 = PolicyVersion.objects.get(number=1)
    fields = {
        "title_zh_hans": v1.title_zh_hans,
        "title_en": v1.title_en,
        "body_zh_hans": v1.body_zh_hans.replace("本协议适用于", "本政策适用于"),
        "body_en": v1.body_en.replace("This Agreement applies", "This Policy applies"),
        "summary_zh_hans": "摘要",
        "summary_en": "Summary",
    }
    fields.update(overrides)
    return PolicyVersion.objects.create(**fields)


# --- the ledger is read-only for everyone ---------------------------------------------------


def test_superusers_cannot_add_change_or_delete_ledger_events(admin_client, personalisation):
    user = UserFactory()
    event = services.consent_grant(user=user, purpose=personalisation)
    count = ConsentEvent.objects.count()

    changelist = admin_client.get(reverse("admin:consents_consentevent_changelist"))
    assert changelist.status_code == 200
    assert "delete_selected" not in changelist.content.decode()
    assert admin_client.get(reverse("admin:consents_consentevent_add")).status_code == 403

    change_url = reverse("admin:consents_consentevent_change", args=[event.pk])
    page = admin_client.get(change_url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert event.hash in page.content.decode()
    assert admin_client.post(change_url, {"action": "withdrawn"}).status_code == 403

    delete_url = reverse("admin:consents_consentevent_delete", args=[event.pk])
    assert admin_client.get(delete_url).status_code == 403
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403

    forged = admin_client.post(
        reverse("admin:consents_consentevent_changelist"),
        {"action": "delete_selected", "_selected_action": [event.pk], "index": "0", "post": "yes"},
    )
    assert forged.status_code in (200, 302)

    assert ConsentEvent.objects.count() == count
    event.refresh_from_db()
    assert event.action == ConsentEvent.Action.GRANTED


def test_the_ledger_list_filters_and_searches(admin_client, personalisation):
    user = UserFactory(phone="+8613800138000")
    services.consent_grant(user=user, purpose=personalisation)
    services.consent_grant(user=UserFactory(), purpose=personalisation)
    url = reverse("admin:consents_consentevent_changelist")
    found = admin_client.get(url, {"q": "13800138000"}).context["cl"].result_list
    assert {e.user_id for e in found} == {user.pk}
    granted = admin_client.get(url, {"action__exact": "granted"}).context["cl"].result_list
    assert len(granted) == 2


@pytest.mark.parametrize(
    "model", [ConsentState, PolicyAcceptance, AuditEntry], ids=lambda m: m.__name__
)
def test_states_acceptances_and_audit_rows_are_read_only_too(admin_client, personalisation, model):
    services.consent_grant(user=UserFactory(), purpose=personalisation)
    services.purpose_save(purpose=personalisation, actor=None)
    obj = model.objects.first()
    count = model.objects.count()
    info = model._meta.app_label, model._meta.model_name
    assert admin_client.get(reverse("admin:{}_{}_changelist".format(*info))).status_code == 200
    change_url = reverse("admin:{}_{}_change".format(*info), args=[obj.pk])
    assert admin_client.get(change_url).status_code == 200
    assert admin_client.post(change_url, {}).status_code == 403
    delete_url = reverse("admin:{}_{}_delete".format(*info), args=[obj.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert admin_client.get(reverse("admin:{}_{}_add".format(*info))).status_code == 403
    assert model.objects.count() == count


# --- purposes ----------------------------------------------------------------------------


def test_the_purpose_list_counts_the_users_who_consent(admin_client, personalisation):
    users = [UserFactory() for _ in range(3)]
    for user in users:
        services.consent_grant(user=user, purpose=personalisation)
    services.consent_withdraw(user=users[0], purpose=personalisation)
    newsletter = services.purpose_save(
        purpose=Purpose(
            code="newsletter",
            kind="additional",
            name_zh_hans="新闻通讯",
            name_en="Newsletter",
            description_zh_hans="新闻通讯",
            description_en="Newsletter",
        ),
        actor=None,
    )
    services.consent_grant(user=users[1], purpose=newsletter)

    response = admin_client.get(reverse("admin:consents_purpose_changelist"))
    assert response.status_code == 200
    counts = {p.code: p.consenting for p in response.context["cl"].result_list}
    assert counts["personalisation"] == 2
    assert counts["newsletter"] == 1
    assert counts["cross_border"] == 0
    assert '<td class="field-consenting_users">2</td>' in response.content.decode()


def test_the_purpose_list_costs_the_same_for_more_purposes(
    admin_client, django_assert_max_num_queries
):
    admin_client.get(reverse("admin:consents_purpose_changelist"))
    with django_assert_max_num_queries(12):
        admin_client.get(reverse("admin:consents_purpose_changelist"))


def purpose_form(**overrides):
    data = {
        "name_zh_hans": "新闻通讯",
        "name_en": "Newsletter",
        "description_zh_hans": "开启后我们给您发送新闻通讯。",
        "description_en": "When on, we send you our newsletter.",
        "requires_separate_consent": "",
        "data_categories": [DataCategory.objects.get(code="phone_number").pk],
        "is_active": "on",
        "position": "9",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v != ""}


def test_purposes_change_through_the_service_with_audit_and_cache(admin_client, superuser):
    user = UserFactory()
    response = admin_client.post(
        reverse("admin:consents_purpose_add"),
        purpose_form(code="newsletter", kind="additional"),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    purpose = Purpose.objects.get(code="newsletter")
    created = AuditEntry.objects.get(action="purpose.created", target_id=str(purpose.pk))
    assert created.actor == superuser and created.details["code"] == "newsletter"
    assert list(purpose.data_categories.values_list("code", flat=True)) == ["phone_number"]

    services.consent_grant(user=user, purpose=purpose)
    assert consent_is_given(user=user, purpose="newsletter")

    change_url = reverse("admin:consents_purpose_change", args=[purpose.pk])
    page = admin_client.get(change_url).content.decode()
    # Code and kind are fixed once the purpose exists.
    assert 'name="code"' not in page and 'name="kind"' not in page
    data = purpose_form(is_active="")
    response = admin_client.post(change_url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    changed = AuditEntry.objects.get(action="purpose.changed", target_id=str(purpose.pk))
    assert changed.details["active"] is False
    assert not consent_is_given(user=user, purpose="newsletter")

    # Code and kind posted anyway are ignored, not applied.
    admin_client.post(change_url, purpose_form(code="renamed", kind="basic"))
    purpose.refresh_from_db()
    assert purpose.code == "newsletter" and purpose.kind == "additional"


def test_the_consent_page_shows_renamed_purposes_and_categories_at_once(admin_client):
    # The page keeps the catalogue's part rendered in memory while the listener runs.
    listening(consent_cache)
    page_url = reverse("consents:page")
    admin_client.post(
        reverse("admin:consents_purpose_add"), purpose_form(code="newsletter", kind="additional")
    )
    page = admin_client.get(page_url).content.decode()
    assert "Newsletter" in page and "Mobile number" in page

    category = DataCategory.objects.get(code="phone_number")
    response = admin_client.post(
        reverse("admin:consents_datacategory_change", args=[category.pk]),
        {"name_zh_hans": category.name_zh_hans, "name_en": "Cell number"},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    page = admin_client.get(page_url).content.decode()
    assert "Cell number" in page and "Mobile number" not in page

    purpose = Purpose.objects.get(code="newsletter")
    change_url = reverse("admin:consents_purpose_change", args=[purpose.pk])
    response = admin_client.post(change_url, purpose_form(name_en="Our letter"))
    assert response.status_code == 302, response.content.decode()[:3000]
    page = admin_client.get(page_url).content.decode()
    assert "Our letter" in page and "Newsletter" not in page


def test_a_purpose_that_breaks_a_rule_shows_the_error(admin_client):
    response = admin_client.post(
        reverse("admin:consents_purpose_add"),
        purpose_form(code="basic_separate", kind="basic", requires_separate_consent="on"),
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert not Purpose.objects.filter(code="basic_separate").exists()
    assert not AuditEntry.objects.filter(action="purpose.created").exists()


def test_purposes_cannot_be_deleted(admin_client, personalisation):
    url = reverse("admin:consents_purpose_delete", args=[personalisation.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert Purpose.objects.filter(pk=personalisation.pk).exists()


# --- policy versions ---------------------------------------------------------------------


def test_publishing_a_draft_with_the_admin_action(admin_client, superuser):
    version = draft()
    response = admin_client.post(
        reverse("admin:consents_policyversion_changelist"),
        {"action": "publish_selected_draft", "_selected_action": [version.pk], "index": "0"},
        follow=True,
    )
    assert "Version 2 is published and in force from now on." in messages_of(response)
    version.refresh_from_db()
    assert version.number == 2 and version.is_published
    audit = AuditEntry.objects.get(action="policy_version.published")
    assert audit.target_id == str(version.pk) and audit.actor == superuser
    assert audit.details["number"] == 2


def test_publishing_from_the_draft_page(admin_client):
    version = draft()
    change_url = reverse("admin:consents_policyversion_change", args=[version.pk])
    publish_url = reverse("admin:consents_policyversion_publish", args=[version.pk])
    page = admin_client.get(change_url).content.decode()
    assert f'action="{publish_url}"' in page
    assert admin_client.get(publish_url).status_code == 405

    response = admin_client.post(publish_url)
    assert response.status_code == 302 and response["Location"] == change_url
    version.refresh_from_db()
    assert version.number == 2
    assert AuditEntry.objects.filter(
        action="policy_version.published", target_id=str(version.pk)
    ).exists()
    # Published: the page no longer offers to publish or save.
    page = admin_client.get(change_url).content.decode()
    assert publish_url not in page and 'name="_save"' not in page


def test_publishing_a_published_version_is_an_error_message(admin_client):
    v1 = PolicyVersion.objects.get(number=1)
    response = admin_client.post(
        reverse("admin:consents_policyversion_changelist"),
        {"action": "publish_selected_draft", "_selected_action": [v1.pk], "index": "0"},
        follow=True,
    )
    assert response.status_code == 200
    assert "Version 1 is already published." in messages_of(response)
    response = admin_client.post(
        reverse("admin:consents_policyversion_publish", args=[v1.pk]), follow=True
    )
    assert response.status_code == 200
    assert "Version 1 is already published." in messages_of(response)
    assert PolicyVersion.objects.filter(status="published").count() == 1
    assert not AuditEntry.objects.filter(action="policy_version.published").exists()


def test_the_action_publishes_exactly_one_draft(admin_client):
    first, second = draft(), draft()
    response = admin_client.post(
        reverse("admin:consents_policyversion_changelist"),
        {
            "action": "publish_selected_draft",
            "_selected_action": [first.pk, second.pk],
            "index": "0",
        },
        follow=True,
    )
    assert "Select exactly one draft to publish." in messages_of(response)
    assert PolicyVersion.objects.filter(status="draft").count() == 2


def test_a_draft_without_text_is_not_published(admin_client):
    version = draft(body_en="   ")
    response = admin_client.post(
        reverse("admin:consents_policyversion_publish", args=[version.pk]), follow=True
    )
    assert "Both the zh-hans and the English text are needed to publish." in messages_of(response)
    version.refresh_from_db()
    assert not version.is_published


def draft_form(version, **overrides):
    data = {
        "title_zh_hans": version.title_zh_hans,
        "title_en": version.title_en,
        "body_zh_hans": version.body_zh_hans,
        "body_en": version.body_en,
        "summary_zh_hans": version.summary_zh_hans,
        "summary_en": version.summary_en,
        "changed_purposes": [],
    }
    data.update(overrides)
    return data


def test_drafts_are_editable_and_published_versions_are_not(admin_client, personalisation):
    version = draft()
    url = reverse("admin:consents_policyversion_change", args=[version.pk])
    response = admin_client.post(
        url,
        draft_form(
            version,
            title_en="Updated title",
            is_material="on",
            changed_purposes=[personalisation.pk],
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    version.refresh_from_db()
    assert version.title_en == "Updated title" and version.is_material
    assert list(version.changed_purposes.all()) == [personalisation]
    assert not version.is_published

    v1 = PolicyVersion.objects.get(number=1)
    url = reverse("admin:consents_policyversion_change", args=[v1.pk])
    page = admin_client.get(url)
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert admin_client.post(url, draft_form(v1, title_en="Rewritten")).status_code == 403
    v1.refresh_from_db()
    assert v1.title_en == "Personal information protection policy"
    delete_url = reverse("admin:consents_policyversion_delete", args=[v1.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert PolicyVersion.objects.filter(pk=v1.pk).exists()


def test_a_draft_page_previews_its_changes_escaped(admin_client):
    version = draft(
        body_en=PolicyVersion.objects.get(number=1).body_en + "\n\n<script>x()</script>\n"
    )
    page = admin_client.get(reverse("admin:consents_policyversion_change", args=[version.pk]))
    html = page.content.decode()
    assert "Compared with version 1." in html
    assert "本<del>协议</del><ins>政策</ins>适用于" in html
    assert "&lt;script&gt;x()&lt;/script&gt;" in html and "<script>x()" not in html


def test_the_version_list_shows_drafts_and_published_versions(admin_client):
    draft(title_en="Next version")
    response = admin_client.get(reverse("admin:consents_policyversion_changelist"))
    assert response.status_code == 200
    assert "Next version" in response.content.decode()
    assert "delete_selected" not in response.content.decode()


def test_a_new_draft_starts_from_the_text_in_force(admin_client):
    v1 = PolicyVersion.objects.get(number=1)
    page = admin_client.get(reverse("admin:consents_policyversion_add"))
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert form["title_zh_hans"].value() == v1.title_zh_hans
    assert form["title_en"].value() == v1.title_en
    assert form["body_zh_hans"].value() == v1.body_zh_hans
    assert form["body_en"].value() == v1.body_en
    # What this change is about is for staff to say.
    assert not form["summary_en"].value() and not form["is_material"].value()
    html = page.content.decode()
    assert "The text starts from version 1, the version in force" in html
    assert "This Agreement helps you" in html  # the English text, in the textarea


def test_publishing_a_material_draft_asks_first_and_counts_the_users(
    admin_client, superuser, personalisation, sms_outbox
):
    users = [UserFactory() for _ in range(3)]
    services.consent_grant(user=users[0], purpose=personalisation)
    UserFactory(is_active=False)  # a closed account is nobody to ask
    version = draft(is_material=True)
    version.changed_purposes.set([personalisation])
    publish_url = reverse("admin:consents_policyversion_publish", args=[version.pk])

    page = admin_client.post(publish_url)
    assert page.status_code == 200
    html = page.content.decode()
    # The three users and the staff member, who has an account like anyone else.
    assert "4 users will have to accept it." in html
    assert "1 user has turned one of them on: it stays off for them until they accept." in html
    assert "Personalised display" in html
    assert 'name="confirm" value="yes"' in html and f'action="{publish_url}"' in html
    version.refresh_from_db()
    assert not version.is_published
    assert sms_outbox == []

    # The changelist action leads to the same page.
    page = admin_client.post(
        reverse("admin:consents_policyversion_changelist"),
        {"action": "publish_selected_draft", "_selected_action": [version.pk], "index": "0"},
    )
    assert page.status_code == 200 and "4 users will have to accept it." in page.content.decode()
    version.refresh_from_db()
    assert not version.is_published

    response = admin_client.post(publish_url, {"confirm": "yes"}, follow=True)
    assert "Version 2 is published and in force from now on." in messages_of(response)
    version.refresh_from_db()
    assert version.number == 2 and version.is_material
    assert AuditEntry.objects.get(action="policy_version.published").actor == superuser
    assert len(sms_outbox) == 4
