"""Staff roles for recipients, disclosures and deletion notices (models of 0006).

The roles of ``0002_staff_roles`` are frozen; this adds the new models to them:

| what                                               | Privacy officer | Privacy agent | Auditor |
| -------------------------------------------------- | --------------- | ------------- | ------- |
| see recipients, disclosures, notices and attempts  | Y               | Y             | Y       |
| record a disclosure                                | Y               | Y             |         |
| retry, mark as sent by hand, close a notice        | Y               | Y             |         |
| add / change recipients, set a signing secret      | Y               |               |         |

- **Privacy officer**: every permission of the four models (the admin still refuses
  to edit or delete a recorded disclosure, a notice or an attempt: they are evidence).
- **Privacy agent**: views all four, ``add_disclosure`` (agents record the sharing they
  do) and ``change_deletionnotice`` (the notice actions: retry, mark as sent, close).
  Who receives data, and the secret that signs notices, stay an officer's decision.
- **Auditor**: the ``view_*`` permission of each, nothing else.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

OFFICER = "Privacy officer"
AGENT = "Privacy agent"
AUDITOR = "Auditor"

MODELS = ("recipient", "disclosure", "deletionnotice", "noticeattempt")
ALL = [f"{verb}_{model}" for model in MODELS for verb in ("add", "change", "delete", "view")]
VIEW = [f"view_{model}" for model in MODELS]

GRANTS = {
    OFFICER: ALL,
    AGENT: [*VIEW, "add_disclosure", "change_deletionnotice"],
    AUDITOR: VIEW,
}


def _permissions(apps, schema_editor, codenames):
    # Permissions are normally created after all migrations (post_migrate); the
    # roles need them now, for the models as they stand at this point.
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
        ("requests", "0007_alter_requestevent_action"),
        ("requests", "0002_staff_roles"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
