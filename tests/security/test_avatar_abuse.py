"""Avatar uploads that try something: payloads riding on real pictures, lies about the
type, pictures that would eat memory, broken and animated files, location in EXIF.

Whatever is accepted is stored as a PNG the portal drew itself; whatever is refused gets a
clear message, a 400, and leaves nothing on disk. tests/accounts/test_account_settings.py
has the plain cases (text, SVG, oversize, a real 20000 x 20000 bomb).
"""

import io
import struct
import zipfile
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from tests.accounts.factories import UserFactory

NOT_A_PICTURE = "This file is not a picture we can read"


def picture(fmt="PNG", size=(64, 48), **kwargs) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(out, format=fmt, **kwargs)
    return out.getvalue()


def zip_payload() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("evil.html", "<script>alert(1)</script>")
    return out.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A PNG header that announces width x height pixels, with a few bytes of data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def upload(client, name, data, content_type="image/png"):
    return client.post(
        reverse("accounts:avatar"),
        {"avatar": SimpleUploadedFile(name, data, content_type=content_type)},
    )


def stored_bytes(user) -> bytes:
    user.refresh_from_db()
    with open(user.avatar.path, "rb") as handle:
        return handle.read()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("poly.jpg", picture("JPEG") + zip_payload()),
        ("poly.png", picture() + b"<html><script>alert(1)</script></html>"),
        ("poly.gif", picture("GIF") + b"<script>alert(1)</script>" + zip_payload()),
    ],
)
def test_a_payload_riding_on_a_real_picture_is_not_stored(signed_in, user, media_root, name, data):
    assert upload(signed_in, name, data).status_code == 302
    stored = stored_bytes(user)
    assert stored.startswith(b"\x89PNG")
    assert b"<script>" not in stored and b"PK\x03\x04" not in stored and b"evil" not in stored


def test_a_picture_with_a_lying_name_and_type_is_stored_as_png(signed_in, user, media_root):
    assert upload(signed_in, "me.html", picture("JPEG"), "text/html").status_code == 302
    user.refresh_from_db()
    assert user.avatar.name.endswith(".png")
    with Image.open(user.avatar.path) as stored:
        assert stored.format == "PNG"


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("page.png", b"<html><script>alert(1)</script></html>", NOT_A_PICTURE),
        ("archive.jpg", zip_payload(), NOT_A_PICTURE),
        ("half.png", picture(size=(300, 300))[:400], NOT_A_PICTURE),
        ("half.jpg", picture("JPEG", size=(300, 300))[:300], NOT_A_PICTURE),
        ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>', NOT_A_PICTURE),
        ("huge.png", png_declaring(100_000, 100_000), "too many pixels"),
        ("wide.png", png_declaring(2_000_000, 13), "too many pixels"),
    ],
)
def test_refused_with_a_clear_message_and_nothing_stored(
    signed_in, user, media_root, name, data, message
):
    response = upload(signed_in, name, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    user.refresh_from_db()
    assert not user.avatar
    assert not (media_root / "avatars").exists() or not any((media_root / "avatars").iterdir())


def test_an_animated_gif_is_stored_as_its_first_frame(signed_in, user, media_root):
    """Decided: accepted, as a still picture (the first frame); no animation is served."""
    frames = [Image.new("RGB", (40, 40), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], loop=0)
    assert upload(signed_in, "anim.gif", out.getvalue(), "image/gif").status_code == 302
    user.refresh_from_db()
    with Image.open(user.avatar.path) as stored:
        assert stored.format == "PNG"
        assert getattr(stored, "n_frames", 1) == 1
        assert stored.convert("RGB").getpixel((256, 256)) == (255, 0, 0)


def test_gps_position_in_exif_is_not_stored(signed_in, user, media_root):
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (39.0, 54.0, 27.0), "E", (116.0, 23.0, 50.0)
    data = picture("JPEG", size=(200, 200), exif=exif.tobytes())
    with Image.open(io.BytesIO(data)) as sent:
        assert sent.getexif().get_ifd(0x8825)
    assert upload(signed_in, "here.jpg", data, "image/jpeg").status_code == 302
    stored = stored_bytes(user)
    with Image.open(io.BytesIO(stored)) as image:
        assert not image.getexif()
        assert not image.info.get("exif")
    assert b"Exif" not in stored


def test_the_avatar_is_served_only_to_its_owner_as_a_sandboxed_png(
    client, signed_in, user, media_root
):
    upload(signed_in, "me.png", picture())
    response = signed_in.get(reverse("accounts:avatar_image"))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == 'inline; filename="avatar.png"'
    assert "sandbox" in response["Content-Security-Policy"]
    assert "default-src 'none'" in response["Content-Security-Policy"]
    assert "private" in response["Cache-Control"]

    # The URL names no user: anyone else gets their own avatar (none here), never this one.
    other = type(client)()
    other.force_login(UserFactory())
    assert other.get(reverse("accounts:avatar_image")).status_code == 404
    anonymous = type(client)()
    response = anonymous.get(reverse("accounts:avatar_image"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
