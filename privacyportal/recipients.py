"""Who receives a user's data under a purpose: the hook that lets a consent name them.

A separate consent to sharing must say to whom (PIPL art. 23), so the consent page
(``consents``) names the recipients. The recipients register lives in ``requests``,
above ``consents`` in the layers, and the register has no link to purposes: a
recipient receives data under the sharing purpose because sharing on consent is
recorded under that purpose (``requests.disclosures.SHARING_PURPOSE``). Rather than
let ``consents`` reach up into ``requests`` or add a purpose link that the register
would have to keep in step with that rule, the app that owns the register provides
the list here at start-up (``RequestsConfig.ready``), as the personal-data registry
is filled: ``consents`` asks the kernel and never imports ``requests``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class NamedRecipient:
    """A recipient as the user reads it, in the active language."""

    name: str
    contact: str
    categories: tuple[str, ...]


RecipientsProvider = Callable[[], Sequence[NamedRecipient]]


class RecipientDirectory:
    def __init__(self) -> None:
        self._providers: dict[str, RecipientsProvider] = {}

    def provide(self, purpose_code: str, provider: RecipientsProvider) -> None:
        if purpose_code in self._providers:
            raise ValueError(f"Recipients of purpose {purpose_code!r} are already provided.")
        self._providers[purpose_code] = provider

    def has_register(self, purpose_code: str) -> bool:
        """Whether data under this purpose goes to recipients kept in a register."""
        return purpose_code in self._providers

    def for_purpose(self, purpose_code: str) -> list[NamedRecipient]:
        provider = self._providers.get(purpose_code)
        return list(provider()) if provider is not None else []


recipients = RecipientDirectory()
