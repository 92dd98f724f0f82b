"""Model strings, backend options and lavr.toml."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lavr.core_model.backends import ModelSpec, load_model, parse_model_spec
from lavr.core_model.config import ConfigError, find_config, load_config
from lavr.core_model.errors import ModelConfigError, WeightsNotFoundError
from lavr.core_model.openai_compat import OpenAICompatibleModel
from lavr.core_model.scripted import ScriptedModel


@pytest.mark.parametrize(("text", "spec"), [
    ("rule", ModelSpec("rule")),
    ("", ModelSpec("rule")),
    ("none", ModelSpec("rule")),
    ("gemma", ModelSpec("gemma")),
    ("transformers:Qwen/Qwen2.5-VL-3B-Instruct", ModelSpec("transformers", "Qwen/Qwen2.5-VL-3B-Instruct")),
    ("hf:/models/smolvlm", ModelSpec("transformers", "/models/smolvlm")),
    ("gguf:/models/x.gguf", ModelSpec("gguf", "/models/x.gguf")),
    ("openai:gpt-4o-mini", ModelSpec("openai", "gpt-4o-mini")),
    ("openai:Qwen/Qwen2.5-VL-7B-Instruct@http://localhost:8000/v1",
     ModelSpec("openai", "Qwen/Qwen2.5-VL-7B-Instruct", "http://localhost:8000/v1")),
    ("openai:llama3.2-vision:11b@http://127.0.0.1:11434/v1",
     ModelSpec("openai", "llama3.2-vision:11b", "http://127.0.0.1:11434/v1")),
    ("openai:user@org/model@https://h.example/v1",
     ModelSpec("openai", "user@org/model", "https://h.example/v1")),
])
def test_model_strings_parse(text, spec):
    assert parse_model_spec(text) == spec
    if spec.backend != "rule":
        assert parse_model_spec(str(spec)) == spec  # round trip


@pytest.mark.parametrize(("text", "fragment"), [
    ("llama", "expected one of"), ("vllm:qwen", "unknown backend"), ("openai:", "expected one of"),
    ("openai:m@localhost:8000", "http://"), ("openai:@http://h/v1", "no model name")])
def test_bad_model_strings_say_what_is_accepted(text, fragment):
    with pytest.raises(ModelConfigError, match=fragment):
        parse_model_spec(text)


def test_load_model_is_lazy_and_checks_options():
    assert load_model("rule") is None and load_model(None) is None
    model = load_model("openai:m@http://127.0.0.1:1/v1", timeout=3, max_retries=1)
    assert isinstance(model, OpenAICompatibleModel)
    assert (model.url, model.timeout, model.max_retries) == ("http://127.0.0.1:1/v1/chat/completions", 3.0, 1)
    with pytest.raises(ModelConfigError, match="unknown option.*colour.*accepted: api_key"):
        load_model("openai:m@http://h/v1", colour="red")
    obj = ScriptedModel([])
    assert load_model(obj) is obj
    with pytest.raises(ModelConfigError, match="model object"):
        load_model(obj, timeout=1)


def test_transformers_and_gguf_strings_do_not_import_torch_until_used(tmp_path):
    before = "torch" in sys.modules
    model = load_model(f"transformers:{tmp_path}", dtype="float32")
    assert model is not None and model.name.startswith("transformers:")
    if not before:
        assert "torch" not in sys.modules
    with pytest.raises(WeightsNotFoundError, match="missing.gguf"):
        load_model(f"gguf:{tmp_path / 'missing.gguf'}")
    with pytest.raises(ModelConfigError, match=".gguf file"):
        load_model(f"gguf:{tmp_path}")


def test_api_key_from_the_environment_goes_only_to_the_configured_url(monkeypatch):
    for var in ("LAVR_OPENAI_API_KEY", "LAVR_OPENAI_BASE_URL", "OPENAI_BASE_URL",
                "LAVR_OPENAI_KEY_URLS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-generic")
    assert load_model("openai:m").api_key == "sk-generic"  # the OpenAI API by default
    assert load_model("openai:m@https://API.openai.com:443/v1/").api_key == "sk-generic"
    assert load_model("openai:m@http://h/v1").api_key is None  # a URL nobody configured
    monkeypatch.setenv("LAVR_OPENAI_BASE_URL", "http://h/v1")
    monkeypatch.setenv("LAVR_OPENAI_API_KEY", "sk-lavr")
    model = load_model("openai:m@http://h/v1")
    assert model.api_key == "sk-lavr"
    assert load_model("openai:m@https://api.openai.com/v1").api_key is None
    monkeypatch.setenv("LAVR_OPENAI_KEY_URLS", "https://api.openai.com/v1, http://other:8000")
    assert load_model("openai:m@http://other:8000/v1").api_key == "sk-lavr"
    assert load_model("openai:m@http://other:8001/v1").api_key is None
    # bound when the model is made: neither the environment nor the URL can move it later
    monkeypatch.setenv("LAVR_OPENAI_API_KEY", "sk-changed")
    assert model.api_key == "sk-lavr"
    with pytest.raises(AttributeError):
        model.base_url = "http://evil/v1"
    assert load_model("openai:m@http://x/v1", api_key="sk-explicit").api_key == "sk-explicit"


def test_config_file(tmp_path, monkeypatch):
    cfg = tmp_path / "lavr.toml"
    cfg.write_text('[model]\nspec = "openai:m@http://h/v1"\nroles = ["plan", "refine"]\n'
                   'retries = 1\n[model.options]\ntimeout = 9\n[agent]\nmax_steps = 5\n')
    loaded = load_config(cfg)
    assert loaded.model.spec == "openai:m@http://h/v1" and loaded.model.roles == ["plan", "refine"]
    assert loaded.model.options == {"timeout": 9} and loaded.agent.max_steps == 5
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LAVR_CONFIG", raising=False)
    assert find_config() == tmp_path / "lavr.toml"  # ./lavr.toml is found
    other = tmp_path / "other.toml"
    other.write_text('[agent]\ndetector = "coco"\n')
    monkeypatch.setenv("LAVR_CONFIG", str(other))
    assert load_config().agent.detector == "coco"


def test_a_lavr_toml_found_in_the_working_directory_cannot_turn_on_remote_code(tmp_path,
                                                                                monkeypatch):
    text = '[model]\nspec = "transformers:./m"\n[model.options]\ntrust_remote_code = true\n'
    (tmp_path / "lavr.toml").write_text(text)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LAVR_CONFIG", raising=False)
    with pytest.raises(ConfigError, match="may not turn it on: name the file with --config"):
        load_config()
    assert load_config(tmp_path / "lavr.toml").model.options == {"trust_remote_code": True}
    monkeypatch.setenv("LAVR_CONFIG", str(tmp_path / "lavr.toml"))
    assert load_config().model.options == {"trust_remote_code": True}


@pytest.mark.parametrize(("text", "fragment"), [
    ("[model\n", "not valid TOML"), ('[model]\nspek = "rule"\n', "model.spek: Extra inputs"),
    ('[model]\nroles = ["paint"]\n', "model.roles.0"), ("[agent]\nmax_steps = 0\n", "max_steps")])
def test_bad_config_files_name_the_problem(tmp_path, text, fragment):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=fragment) as info:
        load_config(cfg)
    assert str(cfg) in str(info.value)


def test_missing_config_file_is_an_error_only_when_named(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nope.toml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LAVR_CONFIG", raising=False)
    assert load_config().model.spec == "rule" and load_config().path is None
    assert Path.cwd() == tmp_path
