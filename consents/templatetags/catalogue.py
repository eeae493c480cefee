"""``{% catalogue_fragment "name" vary… %}…{% end_catalogue_fragment %}``: a fragment made
from the purposes' catalogue (names, descriptions, data categories), kept beside the
catalogue in ``consents.cache`` and dropped with it in every process when it changes.

The same rules as the kernel's ``deploy_fragment`` (``privacyportal.templatetags.fragments``):
nothing inside depends on the user or the request except through the ``vary`` values.
"""

from django import template

from privacyportal.templatetags.fragments import fragment_tag

from ..cache import consent_cache

register = template.Library()

fragment_tag(register, "catalogue_fragment", consent_cache.catalogue_derived)
