"""Agent-wide reasoning settings: chain-of-thought and in-context demo defaults.

:class:`ReasoningSetup` is what an agent holds (in its runtime context): the
default :class:`~lavr.planners.cot.CotOptions` and
:class:`~lavr.planners.select.IclOptions`, the default demo store and text
embedder, and one :class:`~lavr.planners.select.DemoSelector` per store, made
on first use so demo embeddings are computed once per process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lavr.planners.cot import CotOptions
from lavr.planners.demos.embed import TextEmbedder
from lavr.planners.demos.prompt import IclPrompt, resolve_layout
from lavr.planners.demos.select import DemoSelector, IclOptions
from lavr.planners.demos.store import DemoRecord, DemoStore, open_store, packaged_store_path

logger = logging.getLogger(__name__)


@dataclass
class ReasoningSetup:
    """Defaults for chain-of-thought and in-context learning, and the demo selectors.

    Attributes:
        cot: Default chain-of-thought options (per call they can be overridden).
        icl: Default demo options (``k=0``: no demos).
        store: Default demo store (folder or store; None: the packaged starter bank).
        embedder: Text embedder for retrieval (name, object or None for the default).
    """

    cot: CotOptions = field(default_factory=CotOptions)
    icl: IclOptions = field(default_factory=IclOptions)
    store: DemoStore | str | Path | None = None
    embedder: TextEmbedder | str | None = None
    _selectors: dict[str, DemoSelector] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def store_for(self, path: str | Path | None) -> DemoStore:
        """The store at ``path``, else the default store."""
        if path is not None:
            return self.selector(path).store
        return self.selector(None).store

    def selector(self, path: str | Path | None = None) -> DemoSelector:
        """The selector of the store at ``path`` (None: the default store), cached."""
        with self._lock:
            if path is None:
                store = open_store(self.store)
            else:
                store = DemoStore(path)
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
        """A question's options: those :meth:`resolve` put in its state, else the defaults."""
        given = given or {}
        cot = CotOptions.model_validate(given["cot"]) if given.get("cot") else self.cot
        icl = IclOptions.model_validate(given["icl"]) if given.get("icl") else self.icl
        return cot, icl

    def icl_prompt(self, cot: CotOptions, icl: IclOptions,
                   chosen: Sequence[dict[str, Any]]) -> IclPrompt | None:
        """Demos and chain-of-thought text for a controller that reads demos (None: neither).

        ``chosen`` are the demos the ``demos`` node picked (their ``id``): none for
        ``k`` = 0 (zero-shot), the controller's built-in demos for ``k`` None; with
        ``few-shot`` prompting their rationales are shown, with ``zero-shot`` the
        controller is told to reason step by step.
        """
        if not cot.enabled and icl.k is None:
            return None
        records: list[DemoRecord] | None = None if icl.k is None else []
        store = None
        if icl.k:
            store = self.store_for(icl.store)
            records = []
            for d in chosen:
                try:
                    records.append(store.get(d["id"]))
                except KeyError:
                    logger.warning("demo %s is no longer in %s", d["id"], store.root)
        zero_shot = cot.enabled and cot.prompting == "zero-shot"
        return IclPrompt(demos=None if records is None else tuple(records), store=store,
                         layout=resolve_layout(icl.format),
                         rationale=cot.enabled and cot.prompting == "few-shot",
                         cot_instructions=cot.instructions() if zero_shot else "")

    @property
    def default_store_path(self) -> Path:
        """Folder of the default store."""
        if self.store is None:
            return packaged_store_path()
        return self.store.root if isinstance(self.store, DemoStore) else Path(self.store)
