"""Requests in free language to act on one item of a list (no screen access here).

``pass Ann's note on to Bo``, ``throw out the mail Kim wrote``,
``answer Lee with "on my way"``, ``flag the message by Jo``: a request names an **action** on an item, the **item** (by a name it
shows: its sender, author or title) and the action's **arguments** (a recipient, a
text to write). :func:`parse_item_request` finds them with a small general grammar:

* the **action** is the word of the sentence closest to one of :data:`ITEM_ACTIONS`
  by spelling (OCR and typing slips: ``Foward``, ``imporant``) or, with an embedder,
  by meaning (``respond`` ~ reply, ``discard`` ~ delete); verbs that only say "pass
  something on" (``send``, ``give``, ``email``, ``tell``) are decided by the arguments:
  a text to write is a reply, a second person is a forward;
* **names** are capitalised words inside the sentence (or at its start when they are no
  English word, or own something: ``Ann's``), handles (``@ann``) and quoted titles;
* a name marked as the item's (``from X``, ``by X``, ``X's``, ``X sent``) is the item;
  a name the item goes to (``to X``, ``X wants``, ``send X the ...``) is the recipient;
  with one name it is the item;
* a **quoted** string is the text to write.

Nothing here names a page or a benchmark task.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from lavr.episodes.gui.language import lexicon
from lavr.episodes.gui.perception import text_similarity

if TYPE_CHECKING:
    from lavr.planners.demos.embed import TextEmbedder

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ItemAction:
    """An action a list item offers.

    Attributes:
        name: The action's word, as a control may show it (``reply``).
        words: Words that ask for it (matched by spelling and meaning).
        icons: Words of the Unicode names of symbols conventionally drawn for it (the
            control may be an icon without text); empty: the page font has none.
        recipient: It takes a person to send the item to.
        text: It takes a text to write.
    """

    name: str
    words: tuple[str, ...]
    icons: tuple[str, ...] = ()
    recipient: bool = False
    text: bool = False


#: Actions on a list item (a message, a post, a row), in the words a request may use.
ITEM_ACTIONS: tuple[ItemAction, ...] = (
    ItemAction("reply", ("reply", "respond", "answer", "response"), text=True),
    ItemAction("forward", ("forward", "forwarded", "redirect", "resend"), recipient=True),
    ItemAction("delete", ("delete", "remove", "trash", "erase", "discard", "rid", "throw",
                         "bin")),
    ItemAction("star", ("star", "important", "flag", "importance", "favorite", "favourite"),
               icons=("star",)),
)
#: The action that sends what was written: its words, and the symbols drawn for it.
SEND = ItemAction("send", ("send", "submit"), icons=("rightwards arrowhead", "envelope"))
#: Verbs that pass something on without saying how: a text makes them a reply, a person a
#: forward.
PASS_WORDS = frozenset({"send", "sent", "give", "email", "mail", "tell", "pass", "share",
                        "wants", "needs", "copy", "receive", "say", "write", "text", "know"})
#: Words of a widget instruction (``type "Ann" into the Name field``): no item request unless
#: an action is named.
WIDGET_WORDS = frozenset({"field", "box", "textbox", "button", "input", "checkbox", "tab",
                          "link", "textarea", "radio", "option", "submit", "enter", "type"})
#: Words that mark the name after them as the item's (its sender, author).
ITEM_MARKS = frozenset({"from", "by", "of"})
#: Words after a name that mark it as the item's (``the email Ann sent``).
ITEM_AFTER = frozenset({"sent", "wrote", "send", "emailed", "mailed", "posted"})
#: Words after a name that make it the one the item goes to (``Bo wants the email``).
RECIPIENT_AFTER = frozenset({"wants", "needs", "is", "must", "should", "would", "asked"})
#: Words that are never a name, capitalised or not.
NOT_NAMES = frozenset({"i", "please", "email", "e-mail", "mail", "message", "inbox", "app",
                       "find", "forward", "reply", "delete", "can", "could", "will", "would",
                       "go", "get", "the", "a", "an", "in", "my", "me", "you", "your", "send",
                       "give", "mark", "star", "respond", "answer", "open", "locate", "search",
                       "look", "navigate", "take", "pull", "put", "copy",
                       "throw", "set", "show", "change", "flag", "remove", "erase",
                       "discard", "tell", "there", "this", "that", "it", "today", "yesterday",
                       "automatically", "ask", "retrieve", "need", "want", "re", "subject",
                       "to", "from", "by", "and", "then", "ok", "okay", "hey", "hi"})

#: Smallest spelling similarity of a word to an action's word.
SPELLING_MATCH = 0.8
#: Smallest cosine of a word to an action's word (MiniLM), and the margin over the next action.
MEANING_MATCH = 0.6
MEANING_MARGIN = 0.1


@dataclass(frozen=True)
class ItemRequest:
    """What a request asks to do to which item.

    Attributes:
        action: :attr:`ItemAction.name` of the action.
        item: The name that marks the item (its sender, author, title).
        recipient: Whom the item goes to (forwarding), or ``""``.
        text: The text to write (a reply), or ``""``.
    """

    action: str
    item: str
    recipient: str = ""
    text: str = ""


def item_action(name: str) -> ItemAction | None:
    """The :class:`ItemAction` called ``name``, or None."""
    return next((a for a in ITEM_ACTIONS if a.name == name), None)


_TOKEN = re.compile(r"\x00\d+|@?[^\W_]+(?:[-'][^\W_]+)*(?:'s?)?|[^\w\s]")


def _tokens(text: str) -> tuple[list[str], list[str]]:
    """Tokens of ``text`` with each quoted string one token ``\\x00N``, and the quotes."""
    quoted: list[str] = []

    def protect(m: re.Match[str]) -> str:
        quoted.append(m[1].strip())
        return f" \x00{len(quoted) - 1} "

    body = re.sub(r'"([^"]*)"', protect, text)
    body = re.sub(r"(?<=\w)\s*['’]?\s*\$(?=\W|$)", "'s", body)  # OCR: "Ann'$", "Ann $"
    body = re.sub(r"(?<=\w)['’]\s+s\b", "'s", body)  # "Ann' s"
    return _TOKEN.findall(body), quoted


def _is_name(tokens: list[str], i: int, known: frozenset[str]) -> bool:
    tok = tokens[i]
    base = re.sub(r"'s?$", "", tok)
    if tok.startswith("@"):
        return len(tok) > 1
    if not base[:1].isupper() or base.lower() in NOT_NAMES or not base.replace("-", "").isalpha():
        return False
    if base.isupper() and len(base) > 1 and base.lower() in known:
        return False  # shouting, not a name
    first = i == 0 or tokens[i - 1] in (".", "!", "?", ":", ";")
    if not first:
        return True
    # a sentence's first word is capitalised anyway: a name when it owns something or is
    # no English word (nor an action word, or one misspelt: ``Resend``, ``Foward``)
    if _spells_action(base):
        return tok.endswith("'s")
    return tok.endswith("'s") or base.lower() not in known or (
        i + 1 < len(tokens) and tokens[i + 1].lower() in ITEM_AFTER | RECIPIENT_AFTER)


def _spells_action(word: str, actions: tuple[ItemAction, ...] = ITEM_ACTIONS) -> bool:
    """``word`` is spelt like a word of one of ``actions`` (a typing slip: ``foward``)."""
    return len(word) >= 3 and any(text_similarity(word, v) >= SPELLING_MATCH
                                  for a in actions for v in a.words)


def _action_scores(words: list[str], embedder: TextEmbedder | None) -> dict[str, tuple[float, int]]:
    """``{action: (score, word position)}``: how well some word asks for each action."""
    out: dict[str, tuple[float, int]] = {}
    for i, w in enumerate(words):
        if len(w) < 3:
            continue
        for a in ITEM_ACTIONS:
            s = max(text_similarity(w, v) for v in a.words)
            if s >= SPELLING_MATCH and s > out.get(a.name, (0.0, -1))[0]:
                out[a.name] = (s, i)
    if embedder is None or not words:
        return out
    seeds = [(a.name, v) for a in ITEM_ACTIONS for v in a.words]
    vecs = np.asarray(embedder.embed([w.lower() for w in words] + [v for _, v in seeds]))
    sims = vecs[:len(words)] @ vecs[len(words):].T
    for i in range(len(words)):
        per: dict[str, float] = {}
        for j, (name, _) in enumerate(seeds):
            per[name] = max(per.get(name, -1.0), float(sims[i, j]))
        ranked = sorted(per.items(), key=lambda t: -t[1])
        (best, s), second = ranked[0], ranked[1][1]
        if s >= MEANING_MATCH and s - second >= MEANING_MARGIN and s > out.get(best, (0.0, -1))[0]:
            out[best] = (s, i)
    return out


def parse_item_request(text: str, *, embedder: TextEmbedder | None = None) -> ItemRequest | None:
    """The action, item and arguments of a request about one item, or None.

    Args:
        text: The request, e.g. ``"Look up Ann's note and forward it on to Bo."``.
        embedder: Optional text embedder (``embed(texts) -> unit vectors``) to recognise
            an action word by meaning (``respond``, ``discard``).

    Returns:
        An :class:`ItemRequest`, or None when no action or no item is found.
    """
    tokens, quoted = _tokens(text)
    known = lexicon()
    names: list[int] = [i for i in range(len(tokens)) if _is_name(tokens, i, known)]
    words = [(i, t) for i, t in enumerate(tokens) if i not in names and t[:1].isalpha()]
    scores = _action_scores([t for _, t in words], embedder)
    passing = [i for i, t in words if t.lower() in PASS_WORDS]
    message = quoted[0] if quoted else ""
    people = [re.sub(r"'s?$", "", tokens[i]) for i in names]

    def before(i: int) -> str:
        return tokens[i - 1].lower() if i > 0 else ""

    def after(i: int) -> str:
        return tokens[i + 1].lower() if i + 1 < len(tokens) else ""

    item_marked = [k for k, i in enumerate(names) if before(i) in ITEM_MARKS
                   or tokens[i].endswith("'s") or after(i) in ITEM_AFTER
                   or after(i) in ("email", "emails", "message", "messages", "mail", "post")]
    to_marked = [k for k, i in enumerate(names) if before(i) in ("to", "for")]
    forwarding = tuple(a for a in ITEM_ACTIONS if a.recipient)

    def passes(i: int) -> bool:  # the word before names[i] passes the item on (``give X``)
        return before(i) in PASS_WORDS or _spells_action(before(i), forwarding)

    to_marked += [k for k, i in enumerate(names) if k not in to_marked and (
                 after(i) in RECIPIENT_AFTER
                 or (passes(i) and
                     after(i) in ("the", "a", "an", "all", "this", "that", "his", "her"))
                 or (passes(i) and k + 1 < len(names) and names[k + 1] == i + 1))]
    # ("to X" first: the surest mark)
    action = ""
    if scores:
        action = max(scores, key=lambda a: scores[a][0])
    widget = any(t.lower() in WIDGET_WORDS for _, t in words)
    if not action or action == "forward" and message and len(people) < 2:
        if message and not widget and (passing or len(people) == 1):
            action = "reply"  # a text to send back
        elif passing and len(people) >= 2 and not widget:
            action = "forward"
    if not action or not people:
        return None
    spec = item_action(action)
    item = recipient = ""
    if spec is not None and spec.recipient and len(people) >= 2:
        rec = [k for k in to_marked if k not in item_marked] or to_marked
        own = [k for k in item_marked if k not in rec] or [k for k in range(len(people))
                                                          if k not in rec[:1]]
        if rec and own:
            recipient, item = people[rec[0]], people[own[0]]
        elif item_marked:  # the item's name is marked: the other one is the recipient
            item = people[item_marked[0]]
            recipient = next(p for k, p in enumerate(people) if k != item_marked[0])
        else:
            item, recipient = people[0], people[1]
    else:
        own = item_marked or list(range(len(people)))
        item = people[own[0]]
    if spec is not None and spec.recipient and not recipient:
        return None
    if spec is not None and spec.text and not message:
        return None
    return ItemRequest(action, item, recipient=recipient, text=message if spec and spec.text else "")
