"""Staff roles for service tokens (the groups of ``requests.0002_staff_roles``).

| what                                  | Privacy officer | Privacy agent | Auditor |
| ------------------------------------- | --------------- | ------------- | ------- |
| see service tokens                    | Y               |               | Y       |
| create a token, revoke a token        | Y               |               |         |

Deciding which services may read consents or report sharing is an officer's call;
agents work requests and need no view of the machinery; auditors see everything.
Nobody deletes a token: a revoked token stays as the record of who could call.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

OFFICER = "Privacy officer"
AGENT = "Privacy agent"
AUDITOR = "Auditor"

GRANTS = {
    OFFICER: ["add_servicetoken", "change_servicetoken", "view_servicetoken"],
    AUDITOR: ["view_servicetoken"],
}


def _permissions(apps, schema_editor, codenames):
    # Permissions are normally created after all migrations (post_migrate); the
    # roles need them now.
    app_config = apps.get_app_config("api")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, using=schema_editor.connection.alias, apps=apps)
    app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    found = list(
        Permission.objects.using(schema_editor.connection.alias).filter(
            content_type__app_label="api", codename__in=codenames
        )
    )
    missing = set(codenames) - {p.codename for p in found}
    if missing:
        raise RuntimeError(f"Permissions missing for the staff roles: {sorted(missing)}")
    return found


def grant(apps, schema_editor):
    """Add the permissions to the roles that exist; safe to run again."""
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
        ("api", "0001_initial"),
        ("requests", "0002_staff_roles"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
