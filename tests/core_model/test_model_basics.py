"""Messages, structured-output parsing, the model base class and the shipped test models."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import BaseModel

from lavr.core_model.errors import InputError, ModelError, ModelOutputError
from lavr.core_model.messages import ImagePart, Message, TextPart, check_messages
from lavr.core_model.model import GenerationOptions, cut_at_stop, stream_until_stop
from lavr.core_model.scripted import FunctionModel, ScriptedModel
from lavr.core_model.structured import complete_json_prefix, extract_json, parse_structured

IMG = np.zeros((8, 10, 3), np.uint8)


class Answer(BaseModel):
    value: int
    unit: str = "px"


# -- messages ------------------------------------------------------------------------
def test_message_keeps_interleaved_parts_in_order():
    m = Message.user("before", IMG, "after")
    assert [type(p) for p in m.parts] == [TextPart, ImagePart, TextPart]
    assert m.text == "before\n\nafter"
    assert len(m.images) == 1 and m.parts[1].size == (10, 8)


def test_text_only_view_replaces_images_with_their_label():
    m = Message.user(ImagePart(IMG, "crop of s2"), "what is it?")
    assert m.without_images().text == "[crop of s2: not shown]\n\nwhat is it?"
    assert m.without_images(None).text == "what is it?"


@pytest.mark.parametrize("bad", [np.zeros((8, 8), np.uint8), np.zeros((8, 8, 3), np.float32),
                                 np.zeros((8, 8, 4), np.uint8)])
def test_image_part_refuses_non_rgb_uint8(bad):
    with pytest.raises(InputError, match="HxWx3 uint8"):
        ImagePart(bad)


def test_bad_conversations_are_refused():
    with pytest.raises(InputError, match="at least one message"):
        check_messages([])
    with pytest.raises(InputError, match="user message"):
        check_messages([Message.system("hi")])
    with pytest.raises(InputError, match="role"):
        Message("robot", ())  # type: ignore[arg-type]


# -- structured output ---------------------------------------------------------------
@pytest.mark.parametrize("text", [
    '{"value": 3}',
    'Sure, here it is:\n```json\n{"value": 3}\n```\nAnything else?',
    '{"value": 3,}',
    '```\n{"value": 3}',
    'The plan: {"value": 3} and then {"value": 4}',
])
def test_extract_json_finds_the_first_object(text):
    assert extract_json(text) == {"value": 3}


@pytest.mark.parametrize(("text", "fragment"), [
    ("", "empty"), ("no json here", "no JSON object"), ('{"value": 3', "invalid JSON")])
def test_extract_json_says_what_is_wrong(text, fragment):
    with pytest.raises(ModelOutputError) as info:
        extract_json(text)
    assert fragment in info.value.problems[0]
    assert info.value.raw == text


def test_parse_structured_lists_each_validation_problem():
    with pytest.raises(ModelOutputError) as info:
        parse_structured('{"unit": 5}', Answer)
    joined = "; ".join(info.value.problems)
    assert "value: Field required" in joined and "unit:" in joined
    assert parse_structured('{"value": "7"}', Answer).value == 7


@pytest.mark.parametrize(("text", "done"), [
    ('{"a": 1', False), ('{"a": "}"', False), ('{"a": "}"}', True), ('x {"a": {"b": 2}} y', True),
    ('"{"', False), ('{"a": "\\"}"', False)])
def test_complete_json_prefix_counts_braces_outside_strings(text, done):
    assert complete_json_prefix(text) is done


def test_stop_strings_cut_text_and_streams_even_across_pieces():
    assert cut_at_stop("answer\nUser: more", ["\nUser:"]) == "answer"
    pieces = ["ans", "wer\nUs", "er: more"]
    assert "".join(stream_until_stop(iter(pieces), ["\nUser:"])) == "answer"
    assert "".join(stream_until_stop(iter(pieces), [])) == "answer\nUser: more"


# -- scripted and function models ----------------------------------------------------
def test_scripted_model_replies_in_order_and_records_requests():
    model = ScriptedModel(["one", {"value": 2}, Answer(value=3)])
    assert model.generate([Message.user("a", IMG)], task="plan") == "one"
    assert model.generate([Message.user("b")]) == '{"value": 2}'
    assert model.structured([Message.user("c")], Answer).unwrap().value == 3
    assert [r.task for r in model.requests] == ["plan", "", ""]
    assert len(model.requests[0].images) == 1
    assert model.stats.calls == 3 and model.stats.images == 1
    with pytest.raises(ModelError, match="ran out of replies"):
        model.generate([Message.user("d")])


def test_scripted_model_by_task_and_exceptions():
    model = ScriptedModel({"plan": [ModelError("server down")], "*": ["other"]})
    with pytest.raises(ModelError, match="server down"):
        model.generate([Message.user("q")], task="plan")
    assert model.generate([Message.user("q")], task="refine") == "other"
    assert model.stats.failures == 1


def test_text_only_models_get_placeholders_not_pixels():
    model = ScriptedModel(["ok"], sees_images=False)
    model.generate([Message.user(ImagePart(IMG, "the image"), "what?")])
    req = model.requests[0]
    assert req.images == [] and "[the image: not shown]" in req.text


def test_structured_reasks_with_the_problems_then_gives_up():
    model = ScriptedModel(["nonsense", '{"unit": "cm"}', '{"value": 5}'])
    assert model.structured([Message.user("q")], Answer, retries=2).unwrap().value == 5
    third = model.requests[2]
    assert "value: Field required" in third.text  # the second reply's problem went back
    model = ScriptedModel(["nonsense", "still nonsense"])
    with pytest.raises(ModelOutputError) as info:
        model.structured([Message.user("q")], Answer, retries=1).unwrap()
    assert info.value.raw == "still nonsense" and len(model.requests) == 2
    assert model.requests[0].options.json_schema == Answer.model_json_schema()


def test_function_model_and_streaming():
    model = FunctionModel(lambda msgs, opts: f"{opts.task}:{msgs[-1].text}:{opts.max_new_tokens}")
    assert model.generate([Message.user("hi")], task="vqa", max_new_tokens=7) == "vqa:hi:7"
    scripted = ScriptedModel(["a fairly long streamed reply"])
    pieces = list(scripted.stream([Message.user("x")]))
    assert len(pieces) > 1 and "".join(pieces) == "a fairly long streamed reply"


def test_options_override_defaults_only_where_given():
    model = ScriptedModel([])
    opts = model.options(max_new_tokens=None, stop=["x"], task="plan")
    assert opts == GenerationOptions(stop=("x",), task="plan")
