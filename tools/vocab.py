"""English vocabulary shared by every layer that writes or reads answers: colours, numbers
and plurals.

One place for colour words ("gray" and "grey", "magenta" is pink), number words
("three" ↔ 3), singular/plural forms of nouns ("circle" ↔ "circles", "person" ↔
"people", "box" ↔ "boxes") and the small phrases built from them ("there are
three circles", "red circles and blue squares"). The colour expert, the
planners, the refiner, the corrector, the GUI episodes and the evaluators all
use these, so a question, a plan and an answer agree on what "magenta" means
and an answer never reads "three circle, squares" or "four objectses".

Pure Python, no models.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache

#: Every colour name the colour expert gives (:func:`lavr.tools.colour.name_colour`), the
#: names plans, evidence and answers use.
COLOUR_NAMES: tuple[str, ...] = ("red", "orange", "yellow", "green", "cyan", "blue", "purple",
                                 "pink", "brown", "white", "grey", "black")
#: Other words for those colours → the colour name each means.
COLOUR_ALIASES: dict[str, str] = {
    "gray": "grey", "violet": "purple", "magenta": "pink", "fuchsia": "pink", "aqua": "cyan",
    "teal": "cyan", "lime": "green", "navy": "blue",
}
#: Every colour word read in text (names and aliases) → its colour name.
COLOUR_WORDS: dict[str, str] = {**{name: name for name in COLOUR_NAMES}, **COLOUR_ALIASES}
#: Colour words whose colour sits between two names: the other name the expert may give it
#: (a rendered magenta can read as pink or purple, a black glyph's anti-aliased ink as grey).
COLOUR_NEIGHBOURS: dict[str, tuple[str, ...]] = {
    "teal": ("green",), "magenta": ("purple",), "fuchsia": ("purple",), "violet": ("pink",),
    "purple": ("pink",), "pink": ("purple",), "black": ("grey",),
}

#: What a colour word looks like: an RGB prototype per word (the CSS / X11 named colour),
#: for comparing pixels with a colour named in words (nearest prototype, hue of a shade).
COLOUR_RGB: dict[str, tuple[int, int, int]] = {
    "red": (255, 0, 0), "green": (0, 128, 0), "blue": (0, 0, 255), "yellow": (255, 255, 0),
    "black": (0, 0, 0), "white": (255, 255, 255), "grey": (128, 128, 128),
    "gray": (128, 128, 128), "orange": (255, 165, 0), "purple": (128, 0, 128),
    "pink": (255, 192, 203), "brown": (165, 42, 42), "cyan": (0, 255, 255),
    "aqua": (0, 255, 255), "magenta": (255, 0, 255), "fuchsia": (255, 0, 255),
    "violet": (238, 130, 238), "lime": (0, 255, 0), "navy": (0, 0, 128), "teal": (0, 128, 128),
    "olive": (128, 128, 0), "maroon": (128, 0, 0), "silver": (192, 192, 192),
    "gold": (255, 215, 0), "indigo": (75, 0, 130), "turquoise": (64, 224, 208),
    "beige": (245, 245, 220), "tan": (210, 180, 140),
}


def colour_name(word: str) -> str:
    """The colour name a colour word means (``"Gray"`` → ``"grey"``, ``"magenta"`` →
    ``"pink"``); any other word comes back stripped and lower-cased."""
    low = word.strip().lower()
    return COLOUR_WORDS.get(low, low)


def colour_matches(word: str, name: str) -> bool:
    """Whether a colour word (``"aqua"``, ``"magenta"``) fits a colour the expert named.

    The word's own colour name fits, and so does a neighbouring name for words
    between two hues (:data:`COLOUR_NEIGHBOURS`): ``colour_matches("magenta",
    "purple")`` is true, ``colour_matches("red", "pink")`` is not.
    """
    low = word.strip().lower()
    return name in (colour_name(low), *COLOUR_NEIGHBOURS.get(low, ()))


#: Number words read in text (``"no"`` and ``"zero"`` are 0).
NUMBER_WORDS: dict[str, int] = {
    "zero": 0, "no": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}
#: How 0..12 are written (0 as "no": "there are no circles").
NUMBER_NAMES: tuple[str, ...] = ("no", "one", "two", "three", "four", "five", "six", "seven",
                                 "eight", "nine", "ten", "eleven", "twelve")

#: Irregular plural → singular.
IRREGULAR_PLURALS: dict[str, str] = {
    "men": "man", "women": "woman", "people": "person", "children": "child", "mice": "mouse",
    "geese": "goose", "teeth": "tooth", "feet": "foot", "knives": "knife", "oxen": "ox",
    "calves": "calf", "leaves": "leaf", "wolves": "wolf", "shelves": "shelf",
    "buses": "bus", "glasses": "glass", "dice": "die",
}
_IRREGULAR_SINGULARS = {v: k for k, v in IRREGULAR_PLURALS.items()}
#: Nouns whose plural is the same word (or that are not counted).
INVARIANT_NOUNS: frozenset[str] = frozenset({
    "sheep", "fish", "deer", "broccoli", "text", "skis", "scissors", "series", "species",
    "aircraft", "cattle", "luggage", "news"})
#: Singular nouns that end like plurals.
_SINGULAR_S = frozenset({"glass", "bus", "grass", "lens", "gas", "class", "dress", "cross"})
_LIST_SPLIT = re.compile(r"\s*(?:,\s*and\s+|,\s*|\s+and\s+|\s*&\s*)\s*")


def singular_forms(text: str) -> list[str]:
    """Possible singulars of a cleaned label, changing only its last word.

    The most likely singular comes first: ``"wine glasses"`` → ``["wine glass",
    "wine glasse"]``. A word that does not look plural gives ``[]``.
    """
    head, _, last = text.rpartition(" ")
    prefix = head + " " if head else ""
    forms: list[str] = []
    if last in IRREGULAR_PLURALS:
        forms.append(IRREGULAR_PLURALS[last])
    if len(last) > 4 and last.endswith("ies"):
        forms.append(last[:-3] + "y")
    if len(last) > 4 and last.endswith("ves"):
        forms += [last[:-3] + "f", last[:-3] + "fe"]
    if len(last) > 3 and last.endswith(("ches", "shes", "sses", "xes", "zes")):
        forms.append(last[:-2])
    if len(last) > 2 and last.endswith("s") and not last.endswith(("ss", "us", "is")):
        forms.append(last[:-1])
    if len(last) > 4 and last.endswith("oes"):
        forms.append(last[:-2])
    seen: dict[str, None] = {}
    for form in forms:
        seen.setdefault(prefix + form, None)
    return list(seen)


def parse_number(word: str) -> int | None:
    """``"two"`` → 2, ``"3"`` → 3, ``"no"`` → 0; None for anything else."""
    if word.isdigit():
        return int(word)
    return NUMBER_WORDS.get(word.lower())


def number_word(n: int, *, like: str = "") -> str:
    """``n`` in words up to twelve (``0`` → ``"no"``), digits above.

    With ``like``, the style of an existing number is kept: digits stay digits
    and a capitalised word stays capitalised.
    """
    if like.isdigit() or n < 0 or n >= len(NUMBER_NAMES):
        return str(n)
    word = NUMBER_NAMES[n]
    if like[:1].isupper():
        word = word.capitalize()
    return word


def is_plural(noun: str) -> bool:
    """Whether a noun (its last word) is plural: ``circles``, ``people``, ``boxes``."""
    last = noun.lower().split()[-1] if noun.strip() else ""
    if last in INVARIANT_NOUNS or last in _SINGULAR_S:
        return False
    return bool(singular_forms(last))


def singular(noun: str) -> str:
    """The singular of ``noun`` (its last word), else ``noun`` unchanged; case kept."""
    head, _, last = noun.rpartition(" ")
    forms = singular_forms(last.lower()) if is_plural(last) else []
    if not forms:
        return noun
    form = forms[0]
    if last[:1].isupper():
        form = form.capitalize()
    return f"{head} {form}" if head else form


def plural(noun: str) -> str:
    """The plural of ``noun`` (its last word); plurals and invariant nouns stay as they are.

    ``circle`` → ``circles``, ``red box`` → ``red boxes``, ``person`` → ``people``,
    ``circles`` → ``circles``, ``sheep`` → ``sheep``.
    """
    if not noun.strip() or is_plural(noun):
        return noun
    head, _, last = noun.rpartition(" ")
    low = last.lower()
    if low in INVARIANT_NOUNS:
        new = last
    elif low in _IRREGULAR_SINGULARS:
        new = _IRREGULAR_SINGULARS[low]
    elif low.endswith(("s", "x", "ch", "sh", "z")):
        new = last + "es"
    elif low.endswith("y") and low[-2:-1] not in ("a", "e", "i", "o", "u"):
        new = last[:-1] + "ies"
    else:
        new = last + "s"
    return f"{head} {new}" if head else new


def split_nouns(phrase: str) -> list[str]:
    """The nouns of a list phrase: ``"circle, square"`` / ``"circles and squares"`` → two."""
    return [p.strip() for p in _LIST_SPLIT.split(phrase.strip()) if p.strip()]


@lru_cache(maxsize=4096)
def pluralise(noun: str, n: int) -> str:
    """``noun`` in the form that goes with ``n``: singular for 1, plural otherwise.

    A list phrase agrees item by item: ``("circle, square", 3)`` → ``"circles and squares"``.
    Kept for the last few thousand nouns (every answer about a count asks again).
    """
    items = split_nouns(noun)
    if len(items) > 1:
        return join_words([pluralise(i, n) for i in items])
    if not noun:
        return noun
    return singular(noun) if n == 1 else plural(noun)


def count_phrase(n: int, noun: str) -> str:
    """``"three circles"``, ``"one circle"``, ``"no circles"``, ``"13 circles"``."""
    return f"{number_word(n)} {pluralise(noun, n)}"


def there_be(n: int, noun: str) -> str:
    """``"there are three circles"``, ``"there is one circle"``, ``"there are no circles"``."""
    return f"there {'is' if n == 1 else 'are'} {count_phrase(n, noun)}"


def article(noun: str) -> str:
    """``"a circle"`` / ``"an orange square"``."""
    word = noun.strip().lower()
    an = word[:1] in "aeiou" and not word.startswith(("one", "uni", "use", "eu"))
    return f"{'an' if an else 'a'} {noun.strip()}"


def join_words(items: Sequence[str], *, conjunction: str = "and") -> str:
    """``["a"]`` → ``"a"``; ``["a", "b", "c"]`` → ``"a, b and c"``; ``[]`` → ``""``."""
    items = [i for i in items if i]
    if len(items) <= 1:
        return items[0] if items else ""
    return ", ".join(items[:-1]) + f" {conjunction} " + items[-1]


def capitalise(text: str) -> str:
    """``text`` with its first letter upper-cased (the rest untouched)."""
    return text[:1].upper() + text[1:] if text else text


def tally(names: Iterable[str], *, articles: bool = False) -> str:
    """Things by name, most common first: ``"three red circles and a blue square"``
    (``articles``: one thing reads ``"a ..."`` instead of ``"one ..."``); ``"nothing"`` for none."""
    counts = Counter(names)
    parts = [article(name) if articles and n == 1 else count_phrase(n, name)
             for name, n in counts.most_common()]
    return join_words(parts) or "nothing"


def quoted(text: str) -> str:
    """``text`` in double quotes (double quotes inside it become single ones)."""
    return '"' + str(text).replace('"', "'") + '"'
