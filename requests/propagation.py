"""The hook between an approved deletion and the recipients who received the user's data.

Recipients, disclosures and deletion notices come with the propagation work
(DESIGN §2 steps 1-5). Until then no recipient is recorded, so an approved
deletion has no notice to wait for and completes at once.
"""


def deletion_notices_create(*, privacy_request) -> int:
    """Create one notice per recipient holding the user's data; return how many."""
    return 0
