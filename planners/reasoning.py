"""Agent-wide reasoning settings: chain-of-thought and in-context demo defaults.

:class:`ReasoningSetup` is what an agent holds (in its runtime context): the
default :class:`~lavr.planners.cot.CotOptions` and
:class:`~lavr.planners.select.IclOptions`, the default demo store and text
embedder, and one :class:`~lavr.planners.select.DemoSelector` per store, made
on first use so demo embeddings are computed once per process.

There is one demo mechanism: the ``demos`` node picks ``k`` demos from a store
(by default the built-in plan demos, store ``builtin``) with the store's
:class:`~lavr.planners.demos.select.DemoSelector`, and :meth:`ReasoningSetup.icl_prompt`
hands exactly those to the controller.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lavr.planners.cot import CotOptions
from lavr.planners.demos.embed import TextEmbedder
from lavr.planners.demos.prompt import IclPrompt, resolve_layout
from lavr.planners.demos.select import DemoSelector, IclOptions, SelectedDemo
from lavr.planners.demos.store import DemoRecord, DemoStore, open_store, store_path

if TYPE_CHECKING:
    from lavr.planners.roles.protocols import Planner

logger = logging.getLogger(__name__)


@dataclass
class ReasoningSetup:
    """Defaults for chain-of-thought and in-context learning, and the demo selectors.

    Attributes:
        cot: Default chain-of-thought options (per call they can be overridden).
        icl: Default demo options (``k`` demos, default 6; ``k=0``: none).
        store: Default demo store (a name — ``builtin``, ``starter`` — a folder or a
            store; None: ``builtin``, the built-in plan demos).
        embedder: Text embedder for retrieval (name, object or None for the default).
    """

    cot: CotOptions = field(default_factory=CotOptions)
    icl: IclOptions = field(default_factory=IclOptions)
    store: DemoStore | str | Path | None = None
    embedder: TextEmbedder | str | None = None
    _selectors: dict[str, DemoSelector] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    #: The last options :meth:`for_question` parsed: (the state's dict, its options).
    _parsed: tuple[dict[str, Any], tuple[CotOptions, IclOptions]] | None = field(
        default=None, repr=False, compare=False)

    def store_for(self, path: str | Path | None) -> DemoStore:
        """The store at ``path``, else the default store."""
        if path is not None:
            return self.selector(path).store
        return self.selector(None).store

    def selector(self, path: str | Path | None = None) -> DemoSelector:
        """The selector of the store named or at ``path`` (None: the default store), cached."""
        with self._lock:
            store = open_store(self.store if path is None else path)
            key = str(store.root.resolve())
            if key not in self._selectors:
                self._selectors[key] = DemoSelector(store, embedder=self.embedder)
            return self._selectors[key]

    def resolve(self, cot: CotOptions | dict[str, Any] | str | None = None,
                icl: IclOptions | dict[str, Any] | int | None = None, *,
                cot_steps: int | None = None) -> dict[str, Any]:
        """Per-call options merged over the defaults, as JSON-able dicts for graph state.

        Returns:
            ``{"cot": CotOptions dict, "icl": IclOptions dict}``.
        """
        if isinstance(cot, str):
            c = CotOptions.model_validate({**self.cot.model_dump(), "mode": cot.strip().lower()})
        elif isinstance(cot, dict):
            c = CotOptions.model_validate({**self.cot.model_dump(), **cot})
        elif cot is None or isinstance(cot, CotOptions):
            c = cot or self.cot
        else:
            raise TypeError(f"cot must be off, chain, tree, a dict or CotOptions, not "
                            f"{type(cot).__name__}")
        if cot_steps is not None:
            c = CotOptions.coerce(c, steps=cot_steps)
        if isinstance(icl, bool):
            raise TypeError("icl must be a number of demos, a dict or IclOptions, not a bool")
        if isinstance(icl, int):
            i = IclOptions.coerce(self.icl, k=icl)
        elif isinstance(icl, dict):
            i = IclOptions.model_validate({**self.icl.model_dump(), **icl})
        elif icl is None or isinstance(icl, IclOptions):
            i = icl or self.icl
        else:
            raise TypeError(f"icl must be a number of demos, a dict or IclOptions, not "
                            f"{type(icl).__name__} (e.g. icl=4 or icl={{'k': 4}})")
        return {"cot": c.model_dump(mode="json"), "icl": i.model_dump(mode="json")}

    def for_question(self, given: dict[str, Any] | None) -> tuple[CotOptions, IclOptions]:
        """A question's options: those :meth:`resolve` put in its state, else the defaults.

        Several nodes of a question read the same dict (a node never edits it in place;
        it may replace it): the last one parsed is kept, so it is validated once.
        """
        kept = self._parsed
        if kept is not None and given is not None and kept[0] is given:
            return kept[1]
        options = given or {}
        cot = CotOptions.model_validate(options["cot"]) if options.get("cot") else self.cot
        icl = IclOptions.model_validate(self._upgrade(options["icl"])) if options.get("icl") \
            else self.icl
        if given is not None:
            self._parsed = (given, (cot, icl))
        return cot, icl

    def _upgrade(self, icl: dict[str, Any]) -> dict[str, Any]:
        """Demo options saved before there was one demo mechanism (a session resumed, a
        checkpoint): ``k: None`` meant "the controller's built-in demos" whatever the other
        options said (they were chosen by word overlap), which are now the agent's default
        demo options (the built-in store, ``auto``: overlap)."""
        if "k" in icl and icl["k"] is None:
            return self.icl.model_dump(mode="json")
        return icl

    def choose_demos(self, planner: Planner, question: str, image: np.ndarray | None,
                     icl: IclOptions) -> tuple[list[SelectedDemo], DemoSelector] | None:
        """The demos for ``question`` among those ``planner`` can show (its ``shows_demo``),
        and the selector that chose them; None when there is nothing to choose (``k`` 0, or
        no demo in the store the planner can show).

        A planner that reads no demos (the rules) is given the choice anyway when ``k``
        asks for demos, so the trace can show what would have been chosen.

        Raises:
            LavrError: The store cannot be read.
        """
        if not icl.k:
            return None
        selector = self.selector(icl.store)
        demos = selector.demos()
        unusable = {d.id for d in demos if not planner.shows_demo(d)} \
            if planner.reads_demos else set()
        if demos and len(unusable) == len(demos):
            return None
        return selector.select(question, image, icl, exclude=unusable), selector

    def planner_prompt(self, planner: Planner, question: str,
                       image: np.ndarray | None = None) -> IclPrompt | None:
        """Demos and chain-of-thought text for ``planner`` used on its own, outside the
        graph (``lavr model plan``, plan-only evaluation): the same choice as the ``demos``
        node and the same prompt as the plan node, with this setup's defaults."""
        if not planner.reads_demos:
            return None
        picked = self.choose_demos(planner, question, image, self.icl)
        chosen = [s.public() for s in picked[0]] if picked else []
        return self.icl_prompt(self.cot, self.icl, chosen)

    def icl_prompt(self, cot: CotOptions, icl: IclOptions,
                   chosen: Sequence[dict[str, Any]]) -> IclPrompt | None:
        """Demos and chain-of-thought text for a controller that reads demos (None: neither).

        ``chosen`` are the demos the ``demos`` node picked (their ``id``; none for
        ``k`` = 0); with ``few-shot`` prompting their rationales are shown, with
        ``zero-shot`` the controller is told to reason step by step.
        """
        if not cot.enabled and not chosen:
            return None
        records: list[DemoRecord] = []
        store = None
        if icl.k and chosen:
            store = self.store_for(icl.store)
            for d in chosen:
                try:
                    records.append(store.get(d["id"]))
                except KeyError:
                    logger.warning("demo %s is no longer in %s", d["id"], store.root)
        zero_shot = cot.enabled and cot.prompting == "zero-shot"
        return IclPrompt(demos=tuple(records), store=store,
                         layout=resolve_layout(icl.format),
                         rationale=cot.enabled and cot.prompting == "few-shot",
                         cot_instructions=cot.instructions() if zero_shot else "")

    @property
    def default_store_path(self) -> Path:
        """Folder of the default store."""
        return self.store.root if isinstance(self.store, DemoStore) else store_path(self.store)
