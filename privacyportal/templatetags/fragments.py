"""Fragments of a page rendered once per process and language, then reused.

Rendering links, labels and menus costs far more than the queries of a self-service
page, and most of it is the same for everyone:

* ``{% deploy_fragment "name" vary… %}…{% end_deploy_fragment %}`` holds what only the
  code, the settings and the translations decide (links, labels, the language menu).
  Those change only with a deploy, so the fragment stays in process memory for good.
* Apps add fragments kept in a store of their own with ``fragment_tag``: consents'
  ``{% catalogue_fragment %}`` (library ``catalogue``) keeps what the purposes' catalogue
  decides beside the catalogue, which drops it in every process on a change.

The key is the name, the active language and the ``vary`` values. Nothing inside may
depend on the user or the request other than through ``vary``, and each ``vary`` value
must take only a handful of values (a flag, a purpose code): never a CSRF token, a path,
or anything of one user's.
"""

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.translation import get_language

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


def fragment_tag(library: template.Library, tag_name: str, store) -> None:
    """Add ``{% tag_name "name" vary… %}…{% end_tag_name %}`` to ``library``: the body is
    rendered once per key and kept by ``store(key, render)``, which returns the HTML."""

    def compile_fragment(parser, token):
        bits = token.split_contents()
        if len(bits) < 2 or bits[1][0] not in "\"'" or bits[1][0] != bits[1][-1]:
            raise template.TemplateSyntaxError(f"'{tag_name}' needs a quoted fragment name.")
        nodelist = parser.parse((f"end_{tag_name}",))
        parser.delete_first_token()
        vary = [parser.compile_filter(bit) for bit in bits[2:]]
        return FragmentNode(nodelist, bits[1][1:-1], vary, store)

    library.tag(tag_name, compile_fragment)


fragment_tag(register, "deploy_fragment", _deploy_store)
