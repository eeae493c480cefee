"""Data categories, purposes and policy versions, made as the admin makes them (the
services, with their audit rows); the seeded catalogue (``consents.seed``) is always there."""

import factory

from consents.models import DataCategory, PolicyVersion, Purpose
from consents.services import policy_version_draft_save, policy_version_publish, purpose_save
from tests.accounts.factories import UserFactory


def categories(*codes: str) -> list[DataCategory]:
    """The seeded categories with these codes, in code order; every one when none is named."""
    found = DataCategory.objects.all()
    return list(found.filter(code__in=codes) if codes else found)


class PurposeFactory(factory.Factory):
    """An additional purpose, saved through ``purpose_save``; ``data_categories`` are codes."""

    class Meta:
        model = Purpose

    code = factory.Sequence(lambda n: f"extra_{n}")
    kind = Purpose.Kind.ADDITIONAL
    name_zh_hans = factory.Sequence(lambda n: f"附加功能 {n}")
    name_en = factory.Sequence(lambda n: f"Extra function {n}")
    description_zh_hans = "说明"
    description_en = "Why we would use it."
    position = factory.Sequence(lambda n: 100 + n)

    @classmethod
    def _create(cls, model_class, *, data_categories=("browsing_records",), actor=None, **fields):
        return purpose_save(
            purpose=model_class(**fields), actor=actor, categories=categories(*data_categories)
        )


class PolicyDraftFactory(factory.Factory):
    """A draft of the next version: version 1's text with a paragraph added at the end
    (``sentence``; ``sentence_zh`` in the zh-hans text when it differs), saved through
    ``policy_version_draft_save``."""

    class Meta:
        model = PolicyVersion

    class Params:
        sentence = "A new paragraph."
        sentence_zh = ""
        # The material change the browser tests and the screenshots publish.
        longer_search_records = factory.Trait(
            sentence="We now keep search records for 90 days.",
            sentence_zh="我们现在将搜索记录保存 90 天。",
            summary_zh_hans="搜索记录现保存 90 天。",
            summary_en="Search records are now kept for 90 days.",
            is_material=True,
        )
        v1 = factory.LazyFunction(lambda: PolicyVersion.objects.get(number=1))

    title_zh_hans = factory.LazyAttribute(lambda o: o.v1.title_zh_hans)
    title_en = factory.LazyAttribute(lambda o: o.v1.title_en)
    body_zh_hans = factory.LazyAttribute(
        lambda o: f"{o.v1.body_zh_hans}\n\n{o.sentence_zh or o.sentence}\n"
    )
    body_en = factory.LazyAttribute(lambda o: f"{o.v1.body_en}\n\n{o.sentence}\n")
    summary_zh_hans = "变更摘要。"
    summary_en = "What we changed."
    is_material = False

    @classmethod
    def _create(cls, model_class, *, changed_purposes=(), actor=None, **fields):
        return policy_version_draft_save(
            version=model_class(**fields), actor=actor, changed_purposes=list(changed_purposes)
        )


class PolicyVersionFactory(PolicyDraftFactory):
    """The next version, drafted and published by a privacy officer (``actor``)."""

    @classmethod
    def _create(cls, model_class, *, actor=None, **fields):
        actor = actor or UserFactory(is_staff=True, is_superuser=True, accepted_policy=False)
        draft = super()._create(model_class, actor=actor, **fields)
        return policy_version_publish(version=draft, actor=actor)
