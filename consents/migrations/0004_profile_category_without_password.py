"""The profile category read as including the login password ("账户资料（昵称、头像、登录密码）"),
and sharing and disclosure purposes name it: a consent to sharing must never read as if the
password were shared. A database seeded before this keeps its rows, so word them here:
the profile is nickname and avatar, and the password is a category of its own, used only
by the account purpose. Names staff have already edited are left as they are."""

from django.db import migrations

OLD_PROFILE = ("账户资料（昵称、头像、登录密码）", "Profile (nickname, avatar, password)")
NEW_PROFILE = ("账户资料（昵称、头像）", "Profile (nickname, avatar)")
PASSWORD = ("登录密码（仅保存加密后的校验值）", "Login password (kept only as a salted hash)")


def forwards(apps, schema_editor):
    DataCategory = apps.get_model("consents", "DataCategory")
    Purpose = apps.get_model("consents", "Purpose")
    DataCategory.objects.filter(
        code="profile", name_zh_hans=OLD_PROFILE[0], name_en=OLD_PROFILE[1]
    ).update(name_zh_hans=NEW_PROFILE[0], name_en=NEW_PROFILE[1])
    password, _ = DataCategory.objects.get_or_create(
        code="login_password", defaults={"name_zh_hans": PASSWORD[0], "name_en": PASSWORD[1]}
    )
    for purpose in Purpose.objects.filter(code="account"):
        purpose.data_categories.add(password)


class Migration(migrations.Migration):
    dependencies = [("consents", "0003_policy_decline_and_sms_notice")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
