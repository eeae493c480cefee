"""Staff roles for the recipients' accepted confirmations (0013's NoticeCallback).

The roles of ``0002_staff_roles`` are frozen; this adds the new model to them.

| what                                         | Privacy officer | Privacy agent | Auditor |
| -------------------------------------------- | --------------- | ------------- | ------- |
| see which signed confirmations were accepted | Y               |               | Y       |

- **Privacy officer**: every permission of the model (rows are written only by the
  callback, once each; no admin edits them).
- **Privacy agent**: nothing: the notice and its attempts already say what they need.
- **Auditor**: ``view_noticecallback``.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

OFFICER = "Privacy officer"
AUDITOR = "Auditor"

MODEL = "noticecallback"
GRANTS = {
    OFFICER: [f"{verb}_{MODEL}" for verb in ("add", "change", "delete", "view")],
    AUDITOR: [f"view_{MODEL}"],
}


def _permissions(apps, schema_editor, codenames):
    # Permissions are normally created after all migrations (post_migrate); the roles
    # need them now, for the model as it stands at this point.
    app_config = apps.get_app_config("requests")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, using=schema_editor.connection.alias, apps=apps)
    app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    found = list(
        Permission.objects.using(schema_editor.connection.alias).filter(
            content_type__app_label="requests", codename__in=codenames
        )
    )
    missing = set(codenames) - {p.codename for p in found}
    if missing:
        raise RuntimeError(f"Permissions missing for the staff roles: {sorted(missing)}")
    return found


def grant(apps, schema_editor):
    """Add the permissions to the roles that exist (0002 made them); safe to run again."""
    Group = apps.get_model("auth", "Group")
    using = schema_editor.connection.alias
    for name, codenames in GRANTS.items():
        group = Group.objects.using(using).filter(name=name).first()
        if group is not None:
            group.permissions.add(*_permissions(apps, schema_editor, codenames))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    using = schema_editor.connection.alias
    for name, codenames in GRANTS.items():
        group = Group.objects.using(using).filter(name=name).first()
        if group is not None:
            group.permissions.remove(*_permissions(apps, schema_editor, codenames))


class Migration(migrations.Migration):
    dependencies = [
        ("requests", "0013_notice_attempt_number_noticecallback"),
        ("requests", "0002_staff_roles"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
