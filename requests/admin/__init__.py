"""The staff desk of privacy requests, one module per subject.

- ``desk``: privacy requests worked against their deadlines, their timeline and notices;
- ``holds``: legal holds;
- ``recipients``: the register of recipients and the ledger of disclosures;
- ``notices``: deletion notices to recipients and their delivery attempts;
- ``tombstones``: what each deletion erased.

Every change goes through ``requests.services`` or ``requests.propagation``, from a
changelist action or the same action's button on an object's page, built on the shared
pieces of ``privacyportal.desk``. Who may do what is the permission matrix of
``requests/migrations/0002_staff_roles.py`` and ``0008_roles_for_recipients.py``.
Importing the modules registers their admins.
"""

from . import desk, holds, notices, recipients, tombstones

__all__ = ["desk", "holds", "notices", "recipients", "tombstones"]
