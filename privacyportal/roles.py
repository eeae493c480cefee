"""Adding a model's permissions to the staff roles, for the migrations that do it.

The roles (the groups of ``requests.0002_staff_roles``) are frozen: a model added later gets
into them through a migration of its own, which passes its app label and its grants (role
name → permission codenames) to these. Migrations call them for ever, so their signatures
stay as they are.
"""


def _permissions(apps, schema_editor, app_label: str, codenames):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations (post_migrate); the roles need
    # them now, for the models as they stand at this point of the migration history.
    app_config = apps.get_app_config(app_label)
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, using=schema_editor.connection.alias, apps=apps)
    app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    found = list(
        Permission.objects.using(schema_editor.connection.alias).filter(
            content_type__app_label=app_label, codename__in=codenames
        )
    )
    missing = set(codenames) - {p.codename for p in found}
    if missing:
        raise RuntimeError(f"Permissions missing for the staff roles: {sorted(missing)}")
    return found


def _roles(apps, schema_editor, grants):
    Group = apps.get_model("auth", "Group")
    using = schema_editor.connection.alias
    for name, codenames in grants.items():
        group = Group.objects.using(using).filter(name=name).first()
        if group is not None:
            yield group, codenames


def role_grant(apps, schema_editor, *, app_label: str, grants: dict[str, list[str]]) -> None:
    """Add the permissions to the roles that exist (0002 made them); safe to run again."""
    for group, codenames in _roles(apps, schema_editor, grants):
        group.permissions.add(*_permissions(apps, schema_editor, app_label, codenames))


def role_revoke(apps, schema_editor, *, app_label: str, grants: dict[str, list[str]]) -> None:
    for group, codenames in _roles(apps, schema_editor, grants):
        group.permissions.remove(*_permissions(apps, schema_editor, app_label, codenames))
