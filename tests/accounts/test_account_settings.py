import io

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from PIL import Image

from accounts.forms import NicknameForm
from accounts.models import SecurityEvent
from tests.accounts.factories import UserFactory
from tests.helpers import last_code

User = get_user_model()


@pytest.fixture
def user(db):
    return UserFactory(phone="+8613800138000", nickname="old")


def png_bytes(size=(64, 48), color=(200, 30, 30), **save_kwargs) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=save_kwargs.pop("format", "PNG"), **save_kwargs)
    return out.getvalue()


def upload(client, name, data, content_type="image/png"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        reverse("accounts:avatar"),
        {"avatar": SimpleUploadedFile(name, data, content_type=content_type)},
    )


@pytest.mark.parametrize(
    "name",
    [
        "accounts:settings",
        "accounts:security_events",
        "accounts:my_data",
        "accounts:avatar_image",
        "accounts:password_remove",
    ],
)
def test_pages_need_a_signed_in_user(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_settings_page_shows_the_number_and_the_forms(signed_in):
    body = signed_in.get(reverse("accounts:settings")).content.decode()
    assert "+86 138 0013 8000" in body
    assert 'name="nickname"' in body
    assert 'name="avatar"' in body
    assert reverse("account_set_password") in body
    assert reverse("account_change_phone") in body


def test_nickname_is_saved_and_audited(signed_in, user):
    response = signed_in.post(reverse("accounts:nickname"), {"nickname": "  小明  "})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.nickname == "小明"
    assert user.security_events.filter(kind=SecurityEvent.Kind.PROFILE_CHANGED).count() == 1


def test_too_long_nickname_is_refused_and_nothing_changes(signed_in, user):
    response = signed_in.post(reverse("accounts:nickname"), {"nickname": "x" * 41})
    assert response.status_code == 400
    assert "Ensure this value has at most 40 characters" in response.content.decode()
    user.refresh_from_db()
    assert user.nickname == "old"
    assert not user.security_events.exists()


def test_avatar_is_re_encoded_square_png_without_metadata(signed_in, user, media_root):
    exif = Image.Exif()
    exif[0x010E] = "secret description"
    jpeg = png_bytes(size=(800, 600), format="JPEG", exif=exif.tobytes())
    response = upload(signed_in, "me.jpg", jpeg, "image/jpeg")
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.avatar.name.startswith("avatars/") and user.avatar.name.endswith(".png")
    assert "me" not in user.avatar.name.split("/")[1]
    with Image.open(user.avatar.path) as stored:
        assert stored.format == "PNG"
        assert stored.size == (512, 512)
        assert not stored.getexif()
        assert "exif" not in stored.info
    served = signed_in.get(reverse("accounts:avatar_image"))
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert user.security_events.filter(kind=SecurityEvent.Kind.AVATAR_CHANGED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_replacing_and_removing_the_avatar_deletes_old_files(client, media_root):
    user = UserFactory()
    client.force_login(user)
    upload(client, "a.png", png_bytes())
    user.refresh_from_db()
    first = user.avatar.path
    upload(client, "b.png", png_bytes(color=(0, 0, 255)))
    user.refresh_from_db()
    second = user.avatar.path
    assert first != second
    assert not (media_root / "avatars" / first.rsplit("/", 1)[1]).exists()
    client.post(reverse("accounts:avatar_remove"))
    user.refresh_from_db()
    assert not user.avatar
    assert list((media_root / "avatars").iterdir()) == []
    assert client.get(reverse("accounts:avatar_image")).status_code == 404


POLYGLOT = png_bytes() + b"<script>alert(1)</script><?php system($_GET['c']); ?>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("notes.txt", b"just some text, not a picture", "This file is not a picture we can read"),
        ("evil.svg", SVG, "This file is not a picture we can read"),
        (
            "fake.png",
            b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,
            "This file is not a picture we can read",
        ),
        ("empty.png", b"", "The submitted file is empty"),
    ],
)
def test_non_images_are_refused_with_a_clear_message(
    signed_in, user, media_root, name, data, message
):
    response = upload(signed_in, name, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    user.refresh_from_db()
    assert not user.avatar
    assert not user.security_events.exists()


def test_polyglot_is_stored_as_clean_pixels_only(signed_in, user, media_root):
    assert upload(signed_in, "poly.png", POLYGLOT).status_code == 302
    user.refresh_from_db()
    with open(user.avatar.path, "rb") as handle:
        stored = handle.read()
    assert b"<script>" not in stored and b"<?php" not in stored


def test_oversized_file_is_refused(signed_in, user, media_root, settings):
    settings.AVATAR_MAX_BYTES = 10_000
    big = png_bytes(size=(400, 400)) + b"\x00" * 20_000
    response = upload(signed_in, "big.png", big)
    assert response.status_code == 400
    assert "The picture is too large" in response.content.decode()
    user.refresh_from_db()
    assert not user.avatar


def test_decompression_bomb_is_refused(signed_in, user, media_root):
    # A 20000 x 20000 PNG of one colour compresses to a few hundred KB but would need 1.2 GB to decode.
    bomb = png_bytes(size=(20_000, 20_000), color=(0, 0, 0), optimize=True)
    assert len(bomb) < 5 * 1024 * 1024
    response = upload(signed_in, "bomb.png", bomb)
    assert response.status_code == 400
    assert "too many pixels" in response.content.decode()
    user.refresh_from_db()
    assert not user.avatar


def test_set_change_and_remove_password(signed_in, user):
    response = signed_in.post(
        reverse("account_set_password"),
        {"password1": "a long passphrase 42", "password2": "a long passphrase 42"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a long passphrase 42")

    response = signed_in.post(
        reverse("account_change_password"),
        {
            "oldpassword": "a long passphrase 42",
            "password1": "another passphrase 7",
            "password2": "another passphrase 7",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("another passphrase 7")

    response = signed_in.post(reverse("accounts:password_remove"), {"password": "wrong"})
    assert response.status_code == 400
    assert "The password is not correct" in response.content.decode()
    user.refresh_from_db()
    assert user.has_usable_password()

    response = signed_in.post(
        reverse("accounts:password_remove"), {"password": "another passphrase 7"}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert not user.has_usable_password()
    kinds = list(user.security_events.order_by("pk").values_list("kind", flat=True))
    assert kinds == [
        SecurityEvent.Kind.PASSWORD_SET,
        SecurityEvent.Kind.PASSWORD_CHANGED,
        SecurityEvent.Kind.PASSWORD_REMOVED,
    ]


@pytest.mark.django_db(transaction=True)
def test_change_phone_takes_effect_only_after_the_new_number_is_verified(client, sms_outbox):
    client.cookies.load({"django_language": "en"})
    user = UserFactory(phone="+8613800138000")
    client.force_login(user)
    response = client.post(reverse("account_change_phone"), {"phone": "139 0013 9000"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.phone.as_e164 == "+8613800138000"
    code = last_code(sms_outbox, "+8613900139000")
    response = client.post(reverse("account_verify_phone"), {"code": code})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.phone.as_e164 == "+8613900139000"
    assert user.phone_verified
    assert user.security_events.filter(kind=SecurityEvent.Kind.PHONE_CHANGED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_change_phone_to_a_taken_number_is_refused_after_the_code(client, sms_outbox):
    client.cookies.load({"django_language": "en"})
    user = UserFactory(phone="+8613800138000")
    UserFactory(phone="+8613900139000")
    client.force_login(user)
    client.post(reverse("account_change_phone"), {"phone": "13900139000"})
    code = last_code(sms_outbox, "+8613900139000")
    response = client.post(reverse("account_verify_phone"), {"code": code})
    assert response.status_code == 200
    assert "already registered with this phone number" in response.content.decode()
    user.refresh_from_db()
    assert user.phone.as_e164 == "+8613800138000"


def test_security_events_page_lists_only_my_events(signed_in, user):
    other = UserFactory()
    SecurityEvent.objects.create(
        user=user, kind=SecurityEvent.Kind.SIGNED_IN, user_agent="MyPhone", ip_address="10.0.0.1"
    )
    SecurityEvent.objects.create(
        user=other,
        kind=SecurityEvent.Kind.SIGNED_IN,
        user_agent="TheirPhone",
        ip_address="10.0.0.2",
    )
    body = signed_in.get(reverse("accounts:security_events")).content.decode()
    assert "MyPhone" in body and "10.0.0.1" in body
    assert "TheirPhone" not in body and "10.0.0.2" not in body


def test_my_data_page_shows_every_registered_kind_and_only_mine(signed_in, user):
    from privacyportal.registry import registry

    other = UserFactory(nickname="stranger")
    SecurityEvent.objects.create(user=user, kind=SecurityEvent.Kind.SIGNED_IN, user_agent="MyPhone")
    SecurityEvent.objects.create(
        user=other, kind=SecurityEvent.Kind.SIGNED_IN, user_agent="TheirPhone"
    )
    response = signed_in.get(reverse("accounts:my_data"))
    body = response.content.decode()
    for kind in registry.kinds():
        assert f'id="kind-{kind.code}"' in body
    assert "+86 138 0013 8000" in body and "MyPhone" in body
    assert "stranger" not in body and "TheirPhone" not in body


def test_email_and_password_reset_pages_lead_to_what_phone_accounts_use(signed_in, client):
    assert signed_in.get("/accounts/email/")["Location"] == reverse("accounts:settings")
    signed_in.logout()
    response = client.get("/accounts/password/reset/")
    assert response.status_code == 302
    assert response["Location"] == reverse("account_request_login_code")


def test_after_a_password_change_the_user_is_back_in_account_settings(signed_in):
    response = signed_in.post(
        reverse("account_set_password"),
        {"password1": "a long passphrase 42", "password2": "a long passphrase 42"},
    )
    assert response["Location"] == reverse("accounts:settings")


@pytest.mark.parametrize("nickname", ["", "0", "Ann <b>\"&'", "小明"])
def test_settings_page_writes_the_nickname_input_as_django_renders_it(signed_in, user, nickname):
    # The template writes the unbound input itself (its fixed part once per process).
    user.nickname = nickname
    user.save(update_fields=["nickname"])
    body = signed_in.get(reverse("accounts:settings")).content.decode()
    assert str(NicknameForm(initial={"nickname": nickname})["nickname"]) in body
