import pytest
from django.urls import reverse

from consents import services
from consents.diff import diff_texts, tokenise
from consents.markdown import render_markdown
from consents.models import PolicyVersion
from consents.selectors import version_in_force
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def en(client):
    client.cookies["django_language"] = "en"
    return client


def draft_from_v1(*, en=None, zh=None, material=False, summary_en="Clearer wording."):
    v1 = PolicyVersion.objects.get(number=1)
    return PolicyVersion.objects.create(
        title_zh_hans=v1.title_zh_hans,
        title_en=v1.title_en,
        body_zh_hans=zh(v1.body_zh_hans) if zh else v1.body_zh_hans,
        body_en=en(v1.body_en) if en else v1.body_en,
        summary_zh_hans="措辞更清楚。",
        summary_en=summary_en,
        is_material=material,
    )


def publish(version):
    staff = UserFactory(is_staff=True, is_superuser=True, accepted_policy=False)
    return services.policy_version_publish(version=version, actor=staff)


def v2_with_changed_sentence():
    return publish(
        draft_from_v1(
            en=lambda body: body.replace(
                "This Agreement applies to the products", "This Policy applies to all products"
            ),
            zh=lambda body: body.replace(
                "本协议适用于我们提供的产品或服务", "本协议适用于我们提供的全部产品或服务"
            ),
        )
    )


def test_policy_in_force_is_public_and_in_chinese_by_default(client):
    response = client.get(reverse("policy:in_force"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>个人信息保护政策</h1>" in html
    assert "本协议帮助您充分了解" in html
    # Rendered from Markdown, not shown as source.
    assert "<strong>1.1</strong>" in html and "**1.1**" not in html
    assert reverse("policy:versions") in html


def test_policy_in_force_in_english(en):
    response = en.get(reverse("policy:in_force"))
    html = response.content.decode()
    assert "<h1>Personal information protection policy</h1>" in html
    assert "This Agreement helps you to fully understand" in html
    assert "Version 1, published" in html
    assert "First version." in html
    # Version 1 has nothing before it to compare with.
    assert "What changed since" not in html


def test_versions_list_shows_every_published_version(en):
    v2 = v2_with_changed_sentence()
    PolicyVersion.objects.create(
        title_zh_hans="草稿", title_en="Draft", body_zh_hans="x", body_en="x"
    )
    response = en.get(reverse("policy:versions"))
    assert response.status_code == 200
    assert [v.number for v in response.context["versions"]] == [2, 1]
    html = response.content.decode()
    assert reverse("policy:version", args=[2]) in html
    assert "Clearer wording." in html and "First version." in html
    assert "not a material change" in html and "material change: needs express acceptance" in html
    assert f"{reverse('policy:diff')}?from=1&amp;to={v2.number}" in html


def test_one_version_and_a_404_for_drafts_and_unknown_numbers(en):
    PolicyVersion.objects.create(
        title_zh_hans="草稿", title_en="Draft", body_zh_hans="x", body_en="x"
    )
    assert en.get(reverse("policy:version", args=[1])).status_code == 200
    assert en.get(reverse("policy:version", args=[2])).status_code == 404
    assert en.get("/policy/v0/").status_code == 404


def test_an_earlier_version_says_it_is_no_longer_in_force(en):
    v2_with_changed_sentence()
    old = en.get(reverse("policy:version", args=[1])).content.decode()
    assert "This version is no longer in force." in old
    new = en.get(reverse("policy:in_force")).content.decode()
    assert "This version is no longer in force." not in new
    assert f"{reverse('policy:diff')}?from=1&amp;to=2" in new


def test_diff_marks_the_changed_words_and_folds_unchanged_paragraphs(en):
    v2_with_changed_sentence()
    response = en.get(reverse("policy:diff"), {"from": 1, "to": 2})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<del>Agreement</del><ins>Policy</ins>" in html
    assert "<del>the</del><ins>all</ins>" in html
    assert "unchanged paragraphs" in html
    # Far from the change, the text is folded away.
    assert "Information security" not in html and "storage period" not in html.lower()
    assert response.context["diff"].changed == 1
    # The selects show the chosen versions.
    assert '<option value="1" selected>' in html and '<option value="2" selected>' in html


def test_diff_of_chinese_text_is_by_character(client):
    v2_with_changed_sentence()
    html = client.get(reverse("policy:diff"), {"from": 1, "to": 2}).content.decode()
    assert "本协议适用于我们提供的<ins>全部</ins>产品或服务" in html


def test_diff_escapes_the_text(en):
    publish(
        draft_from_v1(en=lambda body: body + '\n\nNew <script>alert("x")</script> paragraph.\n')
    )
    html = en.get(reverse("policy:diff"), {"from": 1, "to": 2}).content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "<script>alert" not in html
    # The policy page itself renders the Markdown and drops the script.
    page = en.get(reverse("policy:in_force")).content.decode()
    assert "<script>alert" not in page and "New  paragraph." in page


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({}, 400, "Choose the two versions to compare."),
        ({"from": "1"}, 400, "Choose the two versions to compare."),
        ({"from": "abc", "to": "1"}, 400, "is not a version number."),
        ({"from": "1", "to": "1.5"}, 400, "is not a version number."),
        ({"from": "99", "to": "1"}, 404, "There is no published version 99."),
        ({"from": "1", "to": "0"}, 404, "There is no published version 0."),
        ({"from": "-3", "to": "1"}, 404, "There is no published version -3."),
    ],
)
def test_bad_diff_parameters_get_a_clear_message(en, params, status, message):
    response = en.get(reverse("policy:diff"), params)
    assert response.status_code == status
    html = response.content.decode()
    assert message in html
    # The form to choose two versions is there to try again.
    assert 'name="from"' in html and 'name="to"' in html


def test_the_value_of_a_bad_parameter_is_escaped(en):
    response = en.get(reverse("policy:diff"), {"from": "<b>x</b>", "to": "1"})
    assert response.status_code == 400
    assert "<b>x</b>" not in response.content.decode()


def test_markdown_is_sanitised():
    html = render_markdown(
        "Hi <script>alert(1)</script><img src=x onerror=alert(2)> "
        '<a href="javascript:alert(3)" onclick="alert(4)">x</a> [ok](https://example.com)'
    )
    assert "<script" not in html and "alert(1)" not in html
    assert "onerror" not in html and "onclick" not in html and "javascript:" not in html
    assert "<img" not in html
    assert '<a href="https://example.com" rel="noopener noreferrer">ok</a>' in html


def test_markdown_drops_a_leading_title_equal_to_the_page_title():
    html = render_markdown("# Policy\n\n## 1. Scope\n\nText", title="Policy")
    assert "Policy" not in html and '<h2 id="1-scope">1. Scope</h2>' in html


def test_tokens_are_cjk_characters_and_whole_latin_words():
    assert tokenise("我们 collect 数据，ok") == [
        "我",
        "们",
        " ",
        "collect",
        " ",
        "数",
        "据",
        "，",
        "ok",
    ]


def test_diff_structure():
    old = "\n\n".join(f"Paragraph {n}." for n in range(12))
    new = old.replace("Paragraph 5.", "Paragraph five.").replace("Paragraph 11.", "")
    diff = diff_texts(old, new, context=1)
    ops = [row.op for row in diff.rows]
    assert ops == ["skipped", "same", "changed", "same", "skipped", "same", "removed"]
    assert diff.rows[0].skipped == 4 and diff.rows[4].skipped == 3
    # A single unchanged paragraph between two changes is shown, not folded.
    short = diff_texts("A a.\n\nB b.\n\nC c.", "A x.\n\nB b.\n\nC y.", context=0)
    assert [row.op for row in short.rows] == ["changed", "same", "changed"]
    assert (diff.changed, diff.removed, diff.added) == (1, 1, 0)
    assert not diff_texts(old, old).has_changes


def test_diff_shows_an_inserted_paragraph_as_added_not_as_a_rewrite():
    old = "First one here.\n\nSecond one here.\n\nThird one here."
    new = "First one here.\n\nBrand new text!\n\nSecond one, here.\n\nThird one here."
    diff = diff_texts(old, new)
    assert [row.op for row in diff.rows] == ["same", "added", "changed", "same"]


def test_version_in_force_is_the_newest_published():
    assert version_in_force().number == 1
