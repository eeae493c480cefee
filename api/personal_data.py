from privacyportal.registry import registry

from .models import ServiceToken

registry.exempt(
    ServiceToken,
    reason="A service token's user references are the staff members who created and revoked "
    "it: the audit trail of who let a service in, not data about a user.",
)
