"""Staff roles for the policy SMS notices (consents 0003: who was texted about a version).

The roles of ``0002_staff_roles`` are frozen; this adds the new model to them. Here in
``requests``, which made the roles, so that ``consents`` never depends on an app above it.

| what                                       | Privacy officer | Privacy agent | Auditor |
| ------------------------------------------ | --------------- | ------------- | ------- |
| see who was texted about a policy version  | Y               |               | Y       |

- **Privacy officer**: every permission of the model (the rows are written only by the
  publication's SMS task; no admin edits them).
- **Privacy agent**: nothing: it is not needed to work requests.
- **Auditor**: ``view_policysmsnotice``.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

OFFICER = "Privacy officer"
AUDITOR = "Auditor"

MODEL = "policysmsnotice"
GRANTS = {
    OFFICER: [f"{verb}_{MODEL}" for verb in ("add", "change", "delete", "view")],
    AUDITOR: [f"view_{MODEL}"],
}


def _permissions(apps, schema_editor, codenames):
    # Permissions are normally created after all migrations (post_migrate); the roles
    # need them now, for the model as it stands at this point.
    app_config = apps.get_app_config("consents")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, using=schema_editor.connection.alias, apps=apps)
    app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    found = list(
        Permission.objects.using(schema_editor.connection.alias).filter(
            content_type__app_label="consents", codename__in=codenames
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
        ("requests", "0011_requestevent_note_code"),
        ("requests", "0002_staff_roles"),
        ("consents", "0003_policy_decline_and_sms_notice"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
