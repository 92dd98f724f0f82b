"""Choosing in-context demos for a question: random, by similarity, diverse (MMR) or by
word overlap.

The similarity of a demo to a query is a weighted mix of the cosine similarity
of their instructions (a sentence embedding, :mod:`lavr.planners.demos.embed`, of the
question's *form* — colour and object words replaced by placeholders — by
default) and of their images (a colour/edge histogram)::

    score = (1 - image_weight) * text_cos + image_weight * image_cos

A demo without images (a text-only plan demo) is scored by its instruction
alone. Demos under ``threshold`` are dropped before choosing (so fewer than ``k`` may
be returned). ``mmr`` picks greedily by ``lambda * score - (1 - lambda) *
max similarity to the demos already picked``. ``overlap`` scores a demo by the
Jaccard overlap of the words and word pairs of its instruction and the question
(colour and qualifier words also count as their class; no model): the built-in
store's default, as its demos were written and measured with it (``auto``, the
default strategy, is the store's own choice, see
:attr:`~lavr.planners.demos.store.DemoStore.default_strategy`). The chosen demos are then
ordered: most similar last (next to the question, the default), most similar
first, seeded random, or as stored. Everything is deterministic for a seed.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from lavr.planners.demos.embed import (
    TextEmbedder,
    image_embedding,
    image_embeddings,
    question_form,
    text_embedder,
    word_features,
)
from lavr.planners.demos.store import DemoRecord, DemoStore

logger = logging.getLogger(__name__)

Strategy = Literal["auto", "random", "similarity", "mmr", "overlap"]
TextView = Literal["form", "raw"]
Order = Literal["similar-last", "similar-first", "random", "stored"]
PromptFormat = Literal["auto", "chat", "instruction"]
STRATEGIES: tuple[str, ...] = ("auto", "random", "similarity", "mmr", "overlap")
#: Demos shown per question unless told otherwise.
DEFAULT_K = 6
#: Most demos one prompt may show.
MAX_K = 32
ORDERS: tuple[str, ...] = ("similar-last", "similar-first", "random", "stored")


class IclOptions(BaseModel):
    """How to pick and show in-context demos for one question: the one demo configuration.

    Every controller that reads demos gets them the same way: the ``demos``
    node picks ``k`` of the store's demos that the controller can show (a
    compact-prompt model that sees, like lavr-mllm, shows only demos with
    images; a controller without the ``vqa`` tool no demo that uses it).

    Attributes:
        k: Demos to show (default :data:`DEFAULT_K`); 0 shows none (zero-shot).
        strategy: ``random``, ``similarity``, ``mmr`` (similar but diverse),
            ``overlap`` (word overlap) or ``auto`` (the default: the store's own
            choice — ``overlap`` for the built-in store, ``similarity`` for others).
        seed: Seed for ``random`` choice and ``random`` order.
        threshold: Drop demos whose similarity is below this (None: keep all).
        order: ``similar-last`` (closest next to the question), ``similar-first``,
            ``random`` or ``stored``.
        mmr_lambda: MMR trade-off: 1 is pure similarity, 0 pure diversity.
        image_weight: Share of the image similarity in the score (0..1).
        text_view: What of the instruction is embedded: its ``form`` (colour and
            object words replaced by placeholders, so demos that ask the same
            kind of thing match; the default) or the ``raw`` text.
        format: Prompt layout for models that see: ``chat`` turns, the classic
            ``### Instruction / ### Image / ### Response`` layout, or ``auto``
            (chat).
        store: Demo store: ``builtin`` (the built-in plan demos), ``starter``
            (the starter bank with images) or a folder (None: the agent's store,
            by default ``builtin``).
    """

    model_config = ConfigDict(extra="forbid")

    k: int = Field(DEFAULT_K, ge=0, le=MAX_K)
    strategy: Strategy = "auto"
    seed: int = 0
    threshold: float | None = Field(None, ge=-1.0, le=1.0)
    order: Order = "similar-last"
    mmr_lambda: float = Field(0.7, ge=0.0, le=1.0)
    image_weight: float = Field(0.1, ge=0.0, le=1.0)
    text_view: TextView = "form"
    format: PromptFormat = "auto"
    store: str | None = None

    @field_validator("k", mode="before")
    @classmethod
    def _no_none(cls, value: Any) -> Any:
        if value is None:
            raise ValueError(f"k is a number of demos (0: none; default {DEFAULT_K}); "
                             "None no longer means 'the controller's built-in demos': "
                             "those are now the default store, 'builtin'")
        return value

    @classmethod
    def default_for(cls, *, reads_demos: bool) -> IclOptions:
        """The default for a controller: :data:`DEFAULT_K` demos when it reads demos (a
        model controller), none when it does not (the rules: picking demos would be
        wasted work)."""
        return cls(k=DEFAULT_K if reads_demos else 0)

    @classmethod
    def coerce(cls, value: IclOptions | dict[str, Any] | int | None, **overrides: Any
               ) -> IclOptions:
        """Options from ``k``, a dict or options; non-None ``overrides`` win."""
        if value is None:
            opts = cls()
        elif isinstance(value, IclOptions):
            opts = value
        elif isinstance(value, bool):
            raise TypeError("icl must be a number of demos, a dict or IclOptions, not a bool")
        elif isinstance(value, int):
            opts = cls(k=value)
        else:
            opts = cls.model_validate(value)
        given = {k: v for k, v in overrides.items() if v is not None}
        return cls.model_validate({**opts.model_dump(), **given}) if given else opts


@dataclass(frozen=True)
class SelectedDemo:
    """A chosen demo and why.

    Attributes:
        demo: The demo.
        score: Combined similarity to the query (None when not computed: random
            choice without a threshold).
        text_sim: Instruction cosine similarity (or None).
        image_sim: Image cosine similarity (or None).
    """

    demo: DemoRecord
    score: float | None = None
    text_sim: float | None = None
    image_sim: float | None = None

    def public(self) -> dict[str, Any]:
        """Small JSON-able record for the trace."""
        r = (lambda x: None if x is None else round(float(x), 4))  # noqa: E731
        return {"id": self.demo.id, "task": self.demo.task, "score": r(self.score),
                "text_sim": r(self.text_sim), "image_sim": r(self.image_sim),
                "instruction": self.demo.instruction}


def _view(text: str, view: str) -> str:
    return question_form(text) if view == "form" else text


def _stable_hash(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


class DemoSelector:
    """Chooses demos from a store for a question and image.

    Embeddings of the store's demos are computed once, on first use.

    Args:
        store: The demo store.
        embedder: Text embedder (name, object, or None for the default: MiniLM
            when installed).
    """

    def __init__(self, store: DemoStore, *, embedder: TextEmbedder | str | None = None) -> None:
        self.store = store
        self._embedder_arg = embedder
        self._embedder: TextEmbedder | None = None
        self._text: dict[str, np.ndarray] = {}
        self._image: np.ndarray | None = None
        self._words: list[frozenset[str]] | None = None
        self._generation = -1
        self._lock = threading.Lock()

    def _fresh(self) -> None:
        """Drop the embeddings when the store's demos changed (caller holds the lock)."""
        gen = self.store.generation
        if gen != self._generation:
            self._text, self._image, self._words = {}, None, None
            self._generation = gen

    @property
    def embedder(self) -> TextEmbedder:
        """The text embedder (resolved on first use)."""
        if self._embedder is None:
            self._embedder = text_embedder(self._embedder_arg)  # type: ignore[arg-type]
        return self._embedder

    def demos(self) -> list[DemoRecord]:
        """The store's demos."""
        return self.store.records()

    def _demo_vectors(self, view: str = "form") -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            self._fresh()
            demos = self.demos()
            if view not in self._text:
                self._text[view] = self.embedder.embed([_view(d.instruction, view)
                                                        for d in demos])
            if self._image is None:
                self._image = self._image_vectors(demos)
            return self._text[view], self._image

    def _image_vectors(self, demos: Sequence[DemoRecord]) -> np.ndarray:
        """``(N, D)`` image embeddings; NaN rows for demos without images."""
        with_images = [i for i, d in enumerate(demos) if d.images]
        if not with_images:
            return np.full((len(demos), 1), np.nan)
        vecs = image_embeddings([self.store.images(demos[i])[0] for i in with_images])
        out = np.full((len(demos), vecs.shape[1]), np.nan)
        out[with_images] = vecs
        return out

    def strategy(self, options: IclOptions) -> str:
        """The strategy ``options`` ask for (``auto``: the store's default)."""
        return self.store.default_strategy if options.strategy == "auto" else options.strategy

    def overlaps(self, question: str) -> np.ndarray:
        """Jaccard overlap of the question's and each demo's :func:`word_features`."""
        with self._lock:
            self._fresh()
            if self._words is None:
                self._words = [word_features(d.instruction) for d in self.demos()]
            words = self._words
        q = word_features(question)
        return np.array([len(q & f) / max(len(q | f), 1) for f in words], dtype=np.float64)

    def similarities(self, question: str, image: np.ndarray | None, *,
                     image_weight: float = 0.1, text_view: str = "form"
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(score, text_sim, image_sim)`` of every demo, in store order.

        Without an image the score is the text similarity alone.
        """
        text_vecs, image_vecs = self._demo_vectors(text_view)
        q_text = self.embedder.embed([_view(question, text_view)])[0]
        text_sim = text_vecs @ q_text
        if image is None or np.isnan(image_vecs).all():
            return text_sim.copy(), text_sim, np.full_like(text_sim, np.nan)
        image_sim = image_vecs @ image_embedding(image)
        score = (1.0 - image_weight) * text_sim + image_weight * image_sim
        score = np.where(np.isnan(image_sim), text_sim, score)  # text-only demos
        return score, text_sim, image_sim

    def demo_similarity(self, image_weight: float = 0.1, text_view: str = "form") -> np.ndarray:
        """``(N, N)`` demo-to-demo similarity (the same mix as the scores)."""
        text_vecs, image_vecs = self._demo_vectors(text_view)
        text = text_vecs @ text_vecs.T
        mixed = (1.0 - image_weight) * text + image_weight * (image_vecs @ image_vecs.T)
        return np.where(np.isnan(mixed), text, mixed)  # a text-only demo: text alone

    def select(self, question: str, image: np.ndarray | None, options: IclOptions, *,
               exclude: Collection[str] = ()) -> list[SelectedDemo]:
        """The demos to show for ``question`` about ``image``, in prompt order.

        Args:
            question: The question.
            image: Its ``HxWx3 uint8 RGB`` image (None: text similarity only).
            options: k, strategy, seed, threshold, order, ...
            exclude: Demo ids never to pick (e.g. the query's own demo in an
                evaluation on the bank).
        """
        demos = self.demos()
        if not options.k or not demos:
            return []
        strategy = self.strategy(options)
        need_scores = strategy != "random" or options.threshold is not None
        if strategy == "overlap":
            score = tsim = self.overlaps(question)
            isim = np.full_like(score, np.nan)
        elif need_scores:
            score, tsim, isim = self.similarities(question, image,
                                                  image_weight=options.image_weight,
                                                  text_view=options.text_view)
        else:
            score = tsim = isim = None
        if score is not None and len(score) != len(demos):  # the file changed meanwhile
            return self.select(question, image, options, exclude=exclude)
        candidates = [i for i, d in enumerate(demos) if d.id not in exclude]
        if options.threshold is not None and score is not None:
            kept = [i for i in candidates if score[i] >= options.threshold]
            logger.debug("threshold %.2f kept %d of %d demos", options.threshold, len(kept),
                         len(candidates))
            candidates = kept
        rng = np.random.default_rng([options.seed, _stable_hash(question)])
        k = min(options.k, len(candidates))
        if strategy == "random" or score is None:
            chosen = [candidates[int(i)] for i in rng.choice(len(candidates), size=k,
                                                              replace=False)] if k else []
        elif strategy in ("similarity", "overlap"):
            chosen = sorted(candidates, key=lambda i: (-score[i], i))[:k]
        else:
            chosen = self._mmr(candidates, score, k, options)
        chosen = self._order(chosen, score, options, rng)
        return [SelectedDemo(demos[i], *(None if a is None else float(a[i])
                                         for a in (score, tsim, isim)))
                for i in chosen]

    def _mmr(self, candidates: Sequence[int], score: np.ndarray, k: int,
             options: IclOptions) -> list[int]:
        sim = self.demo_similarity(options.image_weight, options.text_view)
        lam = options.mmr_lambda
        chosen: list[int] = []
        left = list(candidates)
        while left and len(chosen) < k:
            def value(i: int) -> tuple[float, int]:
                redundancy = max((sim[i, j] for j in chosen), default=0.0)
                return (lam * score[i] - (1.0 - lam) * redundancy, -i)

            best = max(left, key=value)
            chosen.append(best)
            left.remove(best)
        return chosen

    @staticmethod
    def _order(chosen: list[int], score: np.ndarray | None, options: IclOptions,
               rng: np.random.Generator) -> list[int]:
        if options.order == "stored":
            return sorted(chosen)
        if options.order == "random":
            return [chosen[int(i)] for i in rng.permutation(len(chosen))]
        if score is None:  # random choice without scores: keep the drawn order
            return chosen
        ranked = sorted(chosen, key=lambda i: (-score[i], i))
        return ranked if options.order == "similar-first" else ranked[::-1]


def precision_at_k(selected: Sequence[SelectedDemo], task: str) -> float:
    """Share of the selected demos whose task label is ``task`` (0 when none selected)."""
    if not selected:
        return 0.0
    return sum(1 for s in selected if s.demo.task == task) / len(selected)
