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

from functools import partial

from django.db import migrations

from privacyportal.roles import role_grant, role_revoke

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


grant = partial(role_grant, app_label="requests", grants=GRANTS)
revoke = partial(role_revoke, app_label="requests", grants=GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("requests", "0007_alter_requestevent_action"),
        ("requests", "0002_staff_roles"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
