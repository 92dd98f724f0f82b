"""``lavr.toml``: the model and agent settings in one file.

Example::

    [model]
    spec = "openai:Qwen/Qwen2.5-VL-7B-Instruct@http://localhost:8000/v1"
    roles = ["plan", "decide", "refine", "vqa"]   # what the model does (default: all)
    retries = 2                                   # re-asks after an unusable reply

    [model.options]                               # passed to the backend
    timeout = 120
    max_new_tokens = 512

    [agent]
    detector = "auto"
    max_steps = 12
    verify = true
    device = "auto"
    cot = "tree"              # chain-of-thought: off, chain, tree
    icl = 4                   # in-context demos shown to a model controller

The file is found at ``--config PATH``, else ``$LAVR_CONFIG``, else ``./lavr.toml``.

A config file is operator configuration: it may name a model server URL (the
model gets images and questions; an API key from the environment still goes only
to the URLs the operator configured in the environment), a model folder or
``.gguf`` file, an operator ``.pt`` detector (checked like ``--detector PATH``)
and a demo store. A ``./lavr.toml`` that was only *found* in the working
directory may not turn on ``trust_remote_code`` (code shipped beside the weights).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lavr.core_model.errors import InputError

logger = logging.getLogger(__name__)

#: Tool calls allowed per question unless a caller says otherwise (the one default
#: behind ``lavr.toml``, :class:`~lavr.agents.settings.RunSettings` and ``VisualAgent``).
DEFAULT_MAX_STEPS = 12

ENV_CONFIG = "LAVR_CONFIG"
#: Backend options that run code shipped beside the weights: a ``./lavr.toml`` that was
#: only found in the working directory (not named by the operator) may not set them.
RUNS_CODE = ("trust_remote_code",)
CONFIG_NAME = "lavr.toml"
Role = Literal["plan", "decide", "refine", "vqa"]
#: Every role a model can take, in graph order.
ALL_ROLES: tuple[Role, ...] = ("plan", "decide", "refine", "vqa")


class ConfigError(InputError):
    """A config file is missing, not TOML, or has settings lavr does not know.

    Attributes:
        path: The file.
        reason: What was wrong.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"config {path}: {reason}")


class ModelSettings(BaseModel):
    """The ``[model]`` table.

    Attributes:
        spec: Model string (``rule``, ``transformers:...``, ``gguf:...``,
            ``gemma``, ``openai:<model>@<base_url>``).
        roles: What the model does: ``plan`` (controller), ``decide``
            (decision maker), ``refine`` (semantic refiner), ``vqa`` (expert).
        retries: Re-asks after an unusable reply before the rule fallback.
        options: Backend options (``timeout``, ``max_new_tokens``, ``dtype``...).
    """

    model_config = ConfigDict(extra="forbid")

    spec: str = "rule"
    roles: list[Role] = Field(default_factory=lambda: list(ALL_ROLES))
    retries: int = Field(2, ge=0, le=10)
    options: dict[str, Any] = Field(default_factory=dict)


class AgentSettings(BaseModel):
    """The ``[agent]`` table (each is also a ``VisualAgent`` argument).

    ``cot`` (``off``, ``chain``, ``tree``), ``cot_steps`` (fixed length) and
    ``icl`` (number of in-context demos, or a table of demo options such as
    ``{k = 4, strategy = "mmr"}``) with ``demos`` (a demo store folder) set the
    chain-of-thought and in-context defaults.
    """

    model_config = ConfigDict(extra="forbid")

    detector: str = "auto"
    max_steps: int = Field(DEFAULT_MAX_STEPS, ge=1, le=200)
    verify: bool = True
    device: str = "auto"
    cot: Literal["off", "chain", "tree"] = "off"
    cot_steps: int | None = Field(None, ge=1, le=64)
    icl: int | dict[str, Any] | None = None
    demos: str | None = None


class LavrConfig(BaseModel):
    """A whole ``lavr.toml``.

    Attributes:
        model: The ``[model]`` table.
        agent: The ``[agent]`` table.
        path: Where it was read from (None for defaults).
    """

    model_config = ConfigDict(extra="forbid")

    model: ModelSettings = Field(default_factory=ModelSettings)
    agent: AgentSettings = Field(default_factory=AgentSettings)
    path: str | None = None


def _toml_loads(text: str) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    return tomllib.loads(text)


def find_config(path: str | os.PathLike | None = None) -> Path | None:
    """The config file to use: ``path``, else ``$LAVR_CONFIG``, else ``./lavr.toml`` if present.

    Raises:
        ConfigError: ``path`` or ``$LAVR_CONFIG`` names a file that does not exist.
    """
    if path is not None:
        p = Path(path).expanduser()
        if not p.is_file():
            raise ConfigError(str(p), "no such file")
        return p
    env = os.environ.get(ENV_CONFIG, "").strip()
    if env:
        p = Path(env).expanduser()
        if not p.is_file():
            raise ConfigError(str(p), f"no such file (named by ${ENV_CONFIG})")
        return p
    local = Path.cwd() / CONFIG_NAME
    return local if local.is_file() else None


def load_config(path: str | os.PathLike | None = None) -> LavrConfig:
    """Read the config file (see :func:`find_config`); defaults when there is none.

    Raises:
        ConfigError: Unreadable, not TOML, or unknown/invalid settings.
    """
    found = find_config(path)
    if found is None:
        return LavrConfig()
    try:
        data = _toml_loads(found.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(str(found), f"cannot read: {exc.strerror or exc}") from exc
    except ValueError as exc:  # tomllib.TOMLDecodeError
        raise ConfigError(str(found), f"not valid TOML: {exc}") from exc
    cfg = config_from_dict(data, path=str(found))
    named = path is not None or bool(os.environ.get(ENV_CONFIG, "").strip())
    if not named:
        logger.info("settings from %s (found in the working directory)", found)
        for key in RUNS_CODE:
            if cfg.model.options.get(key):
                raise ConfigError(str(found), f"model option {key} = true runs code from the "
                                  "model's folder; a lavr.toml found in the working directory "
                                  "may not turn it on: name the file with --config or "
                                  f"${ENV_CONFIG}, or pass --model-option {key}=true")
    return cfg


def config_from_dict(data: dict[str, Any], *, path: str = "<dict>") -> LavrConfig:
    """Validate a config given as a dict (the parsed TOML).

    Raises:
        ConfigError: Unknown or invalid settings, one message per problem.
    """
    try:
        return LavrConfig.model_validate({**data, "path": path})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                             for e in exc.errors())
        raise ConfigError(path, problems) from exc
