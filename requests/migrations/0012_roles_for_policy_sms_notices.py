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

from functools import partial

from django.db import migrations

from privacyportal.roles import role_grant, role_revoke

OFFICER = "Privacy officer"
AUDITOR = "Auditor"

MODEL = "policysmsnotice"
GRANTS = {
    OFFICER: [f"{verb}_{MODEL}" for verb in ("add", "change", "delete", "view")],
    AUDITOR: [f"view_{MODEL}"],
}


grant = partial(role_grant, app_label="consents", grants=GRANTS)
revoke = partial(role_revoke, app_label="consents", grants=GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("requests", "0011_requestevent_note_code"),
        ("requests", "0002_staff_roles"),
        ("consents", "0003_policy_decline_and_sms_notice"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
