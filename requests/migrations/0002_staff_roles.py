"""Staff roles as groups: who may do what on the staff desk (Django admin).

Permission matrix (Y = allowed; the admin refuses everything else):

| what                                          | Privacy officer | Privacy agent | Auditor |
| --------------------------------------------- | --------------- | ------------- | ------- |
| see requests, their timeline, tombstones      | Y               | Y             | Y       |
| assign, start, extend, reject, complete       | Y               | Y             |         |
| approve a deletion                            | Y               | Y             |         |
| apply a correction                            | Y               | Y             |         |
| see legal holds                               | Y               | Y             | Y       |
| set / release a legal hold                    | Y               |               |         |
| see users and security events                 | Y               | Y             | Y       |
| add / change users (incl. their roles)        | Y               |               |         |
| see browsing records                          | Y               |               | Y       |
| see purposes, policy versions, consent ledger | Y               | Y             | Y       |
| edit purposes, draft and publish versions     | Y               |               |         |
| see the audit log (privacyportal)             | Y               |               | Y       |
| see roles (groups) and permissions            | Y               |               | Y       |
| add / change / delete roles (groups)          | superusers only (the group admin is read-only for roles) | | |

- **Privacy officer**: every permission of the requests, consents, accounts and
  privacyportal apps, plus the group permissions (add/change/delete/view group, view
  permission). Since issue 19 the admin shows roles read-only to everyone but a
  superuser, whatever these say (``accounts.admin``): roles change in migrations. Officers set and release legal holds (``add_legalhold``,
  ``change_legalhold``: releasing is the only change a hold ever gets).
- **Privacy agent**: works requests (``view_privacyrequest``, ``work_privacyrequest``,
  ``approve_deletion``, ``apply_correction``) and sees what they need for it: the
  timeline, access copies, tombstones and legal holds (view only: a hold is an
  officer's decision), users and security events, the consent ledger and states,
  acceptances, purposes, data categories and policy versions. No user or role
  administration, no audit log, no browsing records.
- **Auditor**: every ``view_*`` permission of those four apps, plus viewing groups
  and permissions, so access can be reviewed too. Nothing else.

The sets are frozen here: a model added later gets its permissions into the roles
through a migration of its own (call ``create_permissions`` then add them to the
groups), so what a role may do only ever changes in a reviewed migration.
Evidence stays read-only whatever the permission says: the admin refuses edits of
the ledger, audit rows, timelines and tombstones to everyone, superusers included.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

APPS = ("requests", "consents", "accounts", "privacyportal")

OFFICER = "Privacy officer"
AGENT = "Privacy agent"
AUDITOR = "Auditor"

GROUP_ADMIN = [
    ("auth", "add_group"),
    ("auth", "change_group"),
    ("auth", "delete_group"),
    ("auth", "view_group"),
    ("auth", "view_permission"),
]
ACCESS_REVIEW = [("auth", "view_group"), ("auth", "view_permission")]

AGENT_PERMISSIONS = [
    ("requests", "view_privacyrequest"),
    ("requests", "work_privacyrequest"),
    ("requests", "approve_deletion"),
    ("requests", "apply_correction"),
    ("requests", "view_requestevent"),
    ("requests", "view_accesscopy"),
    ("requests", "view_deletiontombstone"),
    ("requests", "view_legalhold"),
    ("accounts", "view_user"),
    ("accounts", "view_securityevent"),
    ("consents", "view_consentevent"),
    ("consents", "view_consentstate"),
    ("consents", "view_policyacceptance"),
    ("consents", "view_purpose"),
    ("consents", "view_datacategory"),
    ("consents", "view_policyversion"),
]


def _ensure_permissions(apps, schema_editor):
    # Permissions are normally created after all migrations (post_migrate); the
    # groups need them now, for the models as they stand at this point.
    for label in (*APPS, "auth"):
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, using=schema_editor.connection.alias, apps=apps)
        app_config.models_module = None


def _named(Permission, pairs, using):
    found = list(
        Permission.objects.using(using)
        .filter(
            content_type__app_label__in={app for app, _ in pairs},
            codename__in={codename for _, codename in pairs},
        )
        .select_related("content_type")
    )
    wanted = set(pairs)
    chosen = [p for p in found if (p.content_type.app_label, p.codename) in wanted]
    missing = wanted - {(p.content_type.app_label, p.codename) for p in chosen}
    if missing:
        raise RuntimeError(f"Permissions missing for the staff roles: {sorted(missing)}")
    return chosen


def create_roles(apps, schema_editor):
    _ensure_permissions(apps, schema_editor)
    using = schema_editor.connection.alias
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    of_apps = Permission.objects.using(using).filter(content_type__app_label__in=APPS)

    roles = {
        OFFICER: [*of_apps, *_named(Permission, GROUP_ADMIN, using)],
        AGENT: _named(Permission, AGENT_PERMISSIONS, using),
        AUDITOR: [
            *of_apps.filter(codename__startswith="view_"),
            *_named(Permission, ACCESS_REVIEW, using),
        ],
    }
    for name, permissions in roles.items():
        group, _ = Group.objects.using(using).get_or_create(name=name)
        group.permissions.set(permissions)


def remove_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(
        name__in=[OFFICER, AGENT, AUDITOR]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("requests", "0001_initial"),
        ("consents", "0002_seed_purposes_and_policy_v1"),
        ("accounts", "0003_securityevent_restricted_at_user_closed_at_and_more"),
        ("privacyportal", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("admin", "0003_logentry_add_action_flag_choices"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
