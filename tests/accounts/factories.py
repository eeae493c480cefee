"""Accounts as sign-up makes them."""

import factory
from django.contrib.auth import get_user_model


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    phone = factory.Sequence(lambda n: f"+86139{n:08d}")
    phone_verified = True

    # Every real account accepted the policy in force at sign-up; pass
    # accepted_policy=False for one that has not (e.g. made before version 1).
    @factory.post_generation
    def accepted_policy(user, create, extracted, **kwargs):
        if not create or extracted is False:
            return
        from consents.models import Channel
        from consents.selectors import version_in_force
        from consents.services import policy_accept

        version = version_in_force()
        if version is not None:
            policy_accept(user=user, version=version, channel=Channel.SIGNUP)

    password = factory.PostGeneration(
        lambda user, create, extracted, **kw: (
            user.set_password(extracted) if extracted else user.set_unusable_password(),
            user.save() if create else None,
        )
    )
