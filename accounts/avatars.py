"""Avatar uploads: only real images, within size and pixel limits, re-encoded.

Re-encoding to a fresh PNG drops every byte the uploader chose (EXIF with
location, comments, appended payloads of polyglot files), so what is stored
and served is pixels the portal produced itself.
"""

import io
import warnings

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

from privacyportal.errors import ServiceError

ALLOWED_FORMATS = {"JPEG", "PNG", "GIF", "WEBP"}


class AvatarError(ServiceError):
    """A picture refused, with the reason for the user."""


def normalise_avatar(upload) -> ContentFile:
    if upload.size > settings.AVATAR_MAX_BYTES:
        raise AvatarError(
            _("The picture is too large (%(size)s MB at most).")
            % {"size": settings.AVATAR_MAX_BYTES // (1024 * 1024)},
            "too_large",
        )
    upload.seek(0)
    data = upload.read()
    try:
        # Pillow warns at half its bomb limit and raises past it; both mean "refuse".
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                image_format = probe.format
                width, height = probe.size
                if image_format not in ALLOWED_FORMATS:
                    raise AvatarError(_("Upload a JPEG, PNG, GIF or WebP picture."), "bad_type")
                if width * height > settings.AVATAR_MAX_PIXELS:
                    raise AvatarError(
                        _("The picture has too many pixels (%(width)s × %(height)s).")
                        % {"width": width, "height": height},
                        "too_many_pixels",
                    )
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                picture = ImageOps.exif_transpose(image)
                picture = picture.convert("RGBA")
    except AvatarError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise AvatarError(_("The picture has too many pixels."), "too_many_pixels") from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise AvatarError(
            _("This file is not a picture we can read. Upload a JPEG, PNG, GIF or WebP picture."),
            "not_an_image",
        ) from error

    size = settings.AVATAR_SIZE
    square = ImageOps.fit(picture, (size, size), method=Image.Resampling.LANCZOS)
    out = io.BytesIO()
    square.save(out, format="PNG", optimize=True)
    return ContentFile(out.getvalue(), name="avatar.png")
