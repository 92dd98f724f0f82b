"""Turn a GUI instruction into a plan of intents, with rules.

An :class:`Intent` says *what* to do to *which* element (by its text, its
label, its kind or its position), never *where*: positions come from the
screen at acting time. :func:`parse_instruction` tries the rules in
:data:`RULES` in order; the first that matches gives the plan. A generic
fallback handles quoted targets ("click ... "X"", "type "X" ...").
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

#: Operations an intent can ask for.
OPS = ("click", "type")


@dataclass(frozen=True)
class Intent:
    """One thing to do on the screen.

    Attributes:
        op: ``click`` (click the element) or ``type`` (click a text field, then type).
        target: Text to match on the element, or on its label for inputs and
            checkboxes; empty to choose by ``index`` or kind alone.
        kinds: Element kinds that may be chosen (see
            :data:`lavr.episodes.gui.perception.ELEMENT_KINDS`).
        index: 0-based position among the elements of ``kinds`` in reading
            order, used when ``target`` is empty (or as a fallback for labels).
        text: What to type (``op == "type"``).
        icon: An icon that satisfies the target (``"close"`` for an x button),
            or a required icon for ``require_icon``.
        require_icon: Only elements with (``True``) or without (``False``) an
            ``icon`` qualify; None: no constraint.
    """

    op: str
    target: str = ""
    kinds: tuple[str, ...] = ("button",)
    index: int | None = None
    text: str = ""
    icon: str = ""
    require_icon: bool | None = None

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise ValueError(f"intent op must be one of {OPS}, got {self.op!r}")

    def describe(self) -> str:
        """Short human text, e.g. ``type "abc" into input "username"``."""
        what = f'"{self.target}"' if self.target else (
            f"#{self.index + 1}" if self.index is not None else "the only one")
        kinds = "/".join(self.kinds)
        if self.op == "type":
            return f'type "{self.text}" into {kinds} {what}'
        return f"click {kinds} {what}"


@dataclass(frozen=True)
class GuiPlan:
    """The intents for an instruction, in order, and the rule that produced them."""

    intents: tuple[Intent, ...]
    rule: str


def _click(target: str = "", kinds: tuple[str, ...] = ("button",), **kw: object) -> Intent:
    return Intent("click", target=target, kinds=kinds, **kw)  # type: ignore[arg-type]


def _type(text: str, *, target: str = "", index: int | None = None) -> Intent:
    return Intent("type", target=target, kinds=("input",), index=index, text=text)


def _button(word: str) -> Intent:
    return _click(word, ("button",), icon="close" if word.strip().lower() == "x" else "")


def _select(items: str) -> list[Intent]:
    if items.strip().lower() == "nothing":
        return []
    names = [n.strip() for n in items.split(",") if n.strip()]
    return [_click(n, ("checkbox", "radio")) for n in names]


_WIDGETS: dict[str, dict[str, object]] = {
    "button": {"kinds": ("button",)},
    "text": {"kinds": ("input",), "require_icon": False},
    "textarea": {"kinds": ("input",), "require_icon": True, "icon": "grip"},
    "checkbox": {"kinds": ("checkbox",)},
    "radio": {"kinds": ("radio",)},
}


def _widget(name: str) -> list[Intent]:
    spec = _WIDGETS.get(name.lower())
    if spec is None:
        return []
    return [Intent("click", **spec)]  # type: ignore[arg-type]


def _ordinal(n: str) -> int:
    return max(int(n) - 1, 0)


Builder = Callable[[re.Match[str]], list[Intent]]

#: ``(name, pattern, builder)``; patterns are matched case-insensitively against
#: the instruction with curly quotes straightened and whitespace collapsed.
RULES: tuple[tuple[str, str, Builder], ...] = (
    ("close-dialog", r'close the dialog box by clicking the "x"',
     lambda m: [_button("x")]),
    ("dialog-button", r'click the button in the dialog box labeled "(.+?)"',
     lambda m: [_button(m[1])]),
    ("click-quoted-button", r'click on the "(.+?)" button',
     lambda m: [_button(m[1])]),
    ("click-link", r'click on the link "(.+?)"',
     lambda m: [_click(m[1], ("link",))]),
    ("click-tab", r'click on tab #(\d+)',
     lambda m: [_click(f"Tab #{m[1]}", ("button",))]),
    ("login", r'enter the username "(.*?)" and the password "(.*?)" into the text fields '
              r'and press (\w+)',
     lambda m: [_type(m[1], target="username", index=0), _type(m[2], target="password", index=1),
                _button(m[3])]),
    ("password-twice", r'enter the password "(.*?)" into both text fields and press (\w+)',
     lambda m: [_type(m[1], index=0), _type(m[1], index=1), _button(m[2])]),
    ("enter-text", r'enter "(.*?)" into the text field and press (\w+)',
     lambda m: [_type(m[1], index=0), _button(m[2])]),
    ("type-case", r'type "(.*?)" in all (upper|lower) case letters in the text input and press (\w+)',
     lambda m: [_type(m[1].upper() if m[2].lower() == "upper" else m[1].lower(), index=0),
                _button(m[3])]),
    ("focus-nth", r'focus into the (\d+)(?:st|nd|rd|th) input textbox',
     lambda m: [_click(kinds=("input",), index=_ordinal(m[1]))]),
    ("focus", r'focus into the textbox',
     lambda m: [_click(kinds=("input",), index=0)]),
    ("select", r'select (.+?) and click (\w+)',
     lambda m: [*_select(m[1]), _button(m[2])]),
    ("expand", r'expand the section below and click (\w+)',
     lambda m: [_click("Section", ("button",), index=0), _button(m[1])]),
    ("click-widget", r'click on an? "(\w+)" widget',
     lambda m: _widget(m[1])),
    ("button-sequence", r'click button (\w+), then click button (\w+)',
     lambda m: [_button(m[1]), _button(m[2])]),
    ("click-named-button", r'click button (\w+)',
     lambda m: [_button(m[1])]),
    ("click-the-button", r'^click the button\.?$',
     lambda m: [_click(kinds=("button",))]),
)

_GENERIC_TYPE = re.compile(r'(?:type|enter|write) "(.*?)"(?: (?:in|into) (?:the )?(.+?))?'
                           r'(?: and | then |[.,;]|$)', re.IGNORECASE)
_GENERIC_PRESS = re.compile(r'(?:press|click|hit|submit with) (?:on )?(?:the )?"?([\w #]+?)"?'
                            r'(?: button)?[.!]?$', re.IGNORECASE)
_GENERIC_CLICK = re.compile(r'(?:click|press|select|choose|open|tap)(?: on)?(?: the)?'
                            r'(?: (link|button|tab|checkbox|option))? "(.+?)"', re.IGNORECASE)
_KIND_WORDS = {"link": ("link",), "button": ("button",), "tab": ("button",),
               "checkbox": ("checkbox",), "option": ("radio", "checkbox")}
_ANY = ("button", "link", "checkbox", "radio", "input", "text")


def clean_instruction(text: str) -> str:
    """Straighten quotes, collapse whitespace and strip the instruction."""
    for a, b in (("\u201c", '"'), ("\u201d", '"'), ("\u2018", "'"), ("\u2019", "'")):
        text = text.replace(a, b)
    return re.sub(r"\s+", " ", text).strip()


def _generic(text: str) -> list[Intent]:
    intents: list[Intent] = []
    typed = list(_GENERIC_TYPE.finditer(text))
    for i, m in enumerate(typed):
        label = (m[2] or "").strip()
        label = "" if re.fullmatch(r"(?:the )?(?:text ?)?(?:field|box|input|textbox)", label) else label
        intents.append(_type(m[1], target=label, index=i))
    if typed:
        tail = text[typed[-1].end():]
        press = _GENERIC_PRESS.search(tail.strip())
        if press:
            intents.append(_button(press[1]))
        return intents
    for m in _GENERIC_CLICK.finditer(text):
        kinds = _KIND_WORDS.get((m[1] or "").lower(), _ANY)
        intents.append(_click(m[2], kinds))
    return intents


def parse_instruction(instruction: str) -> GuiPlan:
    """Plan the intents for an instruction.

    Args:
        instruction: Natural-language instruction, e.g.
            ``'Enter "abc" into the text field and press Submit.'``.

    Returns:
        A :class:`GuiPlan`; ``rule`` is ``"none"`` and ``intents`` empty when
        no rule understands the instruction.
    """
    text = clean_instruction(instruction)
    for name, pattern, build in RULES:
        m = re.search(pattern, text, flags=re.IGNORECASE)
        if m:
            intents = build(m)
            logger.debug("instruction %r matched rule %s: %s", text, name,
                         [i.describe() for i in intents])
            return GuiPlan(tuple(intents), name)
    intents = _generic(text)
    if intents:
        return GuiPlan(tuple(intents), "generic")
    logger.info("no rule understands the instruction %r", text)
    return GuiPlan((), "none")
