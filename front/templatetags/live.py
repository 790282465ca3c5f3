"""`{% live "campaign/_progress.html" %}`: an include that changes with the figures.

Rendered normally, it is `{% include %}`. When the campaign page's *frame* is rendered (once per
edit, front/pages.py), it leaves a marker instead, which each render of the figures (once per
counted gift) fills with that include rendered alone. So a gift re-renders the progress, stages
and supporters, never the story's Markdown, the updates or the form.
"""

from __future__ import annotations

from django import template
from django.template.base import Parser, Token
from django.template.context import Context
from django.template.loader_tags import IncludeNode
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

FRAME_FLAG = "live_frame"


def marker(name: str) -> str:
    return f"<!--live:{name}-->"


class LiveNode(IncludeNode):
    def __init__(self, name: str, parser: Parser) -> None:
        super().__init__(parser.compile_filter(f'"{name}"'))
        self.name = name

    def render(self, context: Context) -> SafeString:
        if context.get(FRAME_FLAG):
            return mark_safe(marker(self.name))  # noqa: S308 - a fixed HTML comment
        return mark_safe(super().render(context))  # noqa: S308 - the include's own output


@register.tag
def live(parser: Parser, token: Token) -> LiveNode:
    bits = token.split_contents()
    if len(bits) != 2 or bits[1][0] not in "\"'" or bits[1][0] != bits[1][-1]:
        raise template.TemplateSyntaxError('{% live "template.html" %} takes one quoted name')
    return LiveNode(bits[1][1:-1], parser)
