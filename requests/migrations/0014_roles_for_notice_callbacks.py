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

from functools import partial

from django.db import migrations

from privacyportal.roles import role_grant, role_revoke

OFFICER = "Privacy officer"
AUDITOR = "Auditor"

MODEL = "noticecallback"
GRANTS = {
    OFFICER: [f"{verb}_{MODEL}" for verb in ("add", "change", "delete", "view")],
    AUDITOR: [f"view_{MODEL}"],
}


grant = partial(role_grant, app_label="requests", grants=GRANTS)
revoke = partial(role_revoke, app_label="requests", grants=GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("requests", "0013_notice_attempt_number_noticecallback"),
        ("requests", "0002_staff_roles"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
