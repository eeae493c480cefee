import factory
from django.contrib.auth import get_user_model


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    phone = factory.Sequence(lambda n: f"+86139{n:08d}")
    phone_verified = True
    password = factory.PostGeneration(
        lambda user, create, extracted, **kw: (
            user.set_password(extracted) if extracted else user.set_unusable_password(),
            user.save() if create else None,
        )
    )
