"""Staff roles for service tokens (the groups of ``requests.0002_staff_roles``).

| what                                  | Privacy officer | Privacy agent | Auditor |
| ------------------------------------- | --------------- | ------------- | ------- |
| see service tokens                    | Y               |               | Y       |
| create a token, revoke a token        | Y               |               |         |

Deciding which services may read consents or report sharing is an officer's call;
agents work requests and need no view of the machinery; auditors see everything.
Nobody deletes a token: a revoked token stays as the record of who could call.
"""

from functools import partial

from django.db import migrations

from privacyportal.roles import role_grant, role_revoke

OFFICER = "Privacy officer"
AGENT = "Privacy agent"
AUDITOR = "Auditor"

GRANTS = {
    OFFICER: ["add_servicetoken", "change_servicetoken", "view_servicetoken"],
    AUDITOR: ["view_servicetoken"],
}


grant = partial(role_grant, app_label="api", grants=GRANTS)
revoke = partial(role_revoke, app_label="api", grants=GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0001_initial"),
        ("requests", "0002_staff_roles"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
