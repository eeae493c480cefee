"""Fragments of a page rendered once per process and language, then reused.

Rendering links, labels and menus costs far more than the queries of a self-service
page, and most of it is the same for everyone:

* ``{% deploy_fragment "name" vary… %}…{% end_deploy_fragment %}`` holds what only the
  code, the settings and the translations decide (links, labels, the language menu).
  Those change only with a deploy, so the fragment stays in process memory for good.
* ``{% catalogue_fragment "name" vary… %}…{% end_catalogue_fragment %}`` holds what the
  purposes' catalogue decides (names, descriptions, data categories). It is kept beside
  the catalogue in ``consents.cache``, which drops it in every process on a change.

The key is the name, the active language and the ``vary`` values. Nothing inside may
depend on the user or the request other than through ``vary``, and each ``vary`` value
must take only a handful of values (a flag, a purpose code): never a CSRF token, a path,
or anything of one user's.
"""

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.translation import get_language

from consents.cache import consent_cache

register = template.Library()

_deploy_fragments: dict[tuple, str] = {}


@receiver(setting_changed)
def _forget_deploy_fragments(**kwargs) -> None:
    # Settings (URLs, languages, static files) decide the fragments; only tests change them.
    _deploy_fragments.clear()


def _deploy_store(key: tuple, render) -> str:
    html = _deploy_fragments.get(key)
    if html is None:
        html = _deploy_fragments[key] = render()
    return html


class FragmentNode(template.Node):
    def __init__(self, nodelist, name, vary, store):
        self.nodelist = nodelist
        self.name = name
        self.vary = vary
        self.store = store

    def render(self, context):
        key = (self.name, get_language(), *(value.resolve(context) for value in self.vary))
        return self.store(key, lambda: self.nodelist.render(context))


def _fragment_tag(tag_name: str, store):
    def compile_fragment(parser, token):
        bits = token.split_contents()
        if len(bits) < 2 or bits[1][0] not in "\"'" or bits[1][0] != bits[1][-1]:
            raise template.TemplateSyntaxError(f"'{tag_name}' needs a quoted fragment name.")
        nodelist = parser.parse((f"end_{tag_name}",))
        parser.delete_first_token()
        vary = [parser.compile_filter(bit) for bit in bits[2:]]
        return FragmentNode(nodelist, bits[1][1:-1], vary, store)

    register.tag(tag_name, compile_fragment)


_fragment_tag("deploy_fragment", _deploy_store)
_fragment_tag("catalogue_fragment", consent_cache.catalogue_derived)
