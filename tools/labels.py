"""Detector vocabularies and label normalisation (pure Python, no models).

The planner and the detect tool share these so that "people", "cars" or
"balls" become the class names a detector knows ("person", "car",
"sports ball" or "circle") without loading anything.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator

from lavr.tools.vocab import singular_forms

#: Classes of the shapes detector that ships with lavr.
SHAPES_CLASSES: tuple[str, ...] = ("circle", "square", "triangle")

#: The 80 COCO classes, in YOLO class-id order.
COCO_CLASSES: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat",
    "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack",
    "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball",
    "kite", "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket",
    "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair",
    "couch", "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse",
    "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink",
    "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier",
    "toothbrush",
)

#: Singular synonym → canonical candidates, most likely first. The first
#: candidate that is in a detector's vocabulary wins.
SYNONYMS: dict[str, tuple[str, ...]] = {
    # people
    **dict.fromkeys(
        ("people", "persons", "man", "woman", "men", "women", "human", "boy", "girl", "child",
         "kid", "baby", "pedestrian", "guy", "lady", "player", "rider", "someone", "individual"),
        ("person",)),
    # vehicles
    **dict.fromkeys(("bike", "cycle", "pushbike"), ("bicycle",)),
    **dict.fromkeys(("motorbike", "scooter", "moped"), ("motorcycle",)),
    **dict.fromkeys(("plane", "aeroplane", "jet", "aircraft"), ("airplane",)),
    **dict.fromkeys(("automobile", "auto", "taxi", "cab", "sedan", "vehicle"), ("car",)),
    **dict.fromkeys(("lorry", "pickup", "van"), ("truck",)),
    **dict.fromkeys(("coach", "minibus"), ("bus",)),
    **dict.fromkeys(("ship", "sailboat", "canoe", "kayak", "yacht"), ("boat",)),
    **dict.fromkeys(("locomotive", "tram"), ("train",)),
    # street
    **dict.fromkeys(("traffic signal", "stoplight", "stop light"), ("traffic light",)),
    **dict.fromkeys(("hydrant",), ("fire hydrant",)),
    # animals
    **dict.fromkeys(("puppy", "doggy", "hound"), ("dog",)),
    **dict.fromkeys(("kitten", "kitty"), ("cat",)),
    **dict.fromkeys(("pony", "foal"), ("horse",)),
    **dict.fromkeys(("lamb",), ("sheep",)),
    **dict.fromkeys(("cattle", "calf", "bull", "ox"), ("cow",)),
    # accessories and sport
    **dict.fromkeys(("rucksack", "knapsack"), ("backpack",)),
    **dict.fromkeys(("purse", "bag"), ("handbag",)),
    **dict.fromkeys(("necktie",), ("tie",)),
    **dict.fromkeys(("luggage",), ("suitcase",)),
    **dict.fromkeys(("ski",), ("skis",)),
    **dict.fromkeys(("ball", "football", "soccer ball", "basketball", "tennis ball",
                     "baseball"), ("sports ball", "circle")),
    **dict.fromkeys(("racket", "racquet"), ("tennis racket",)),
    **dict.fromkeys(("bat",), ("baseball bat",)),
    **dict.fromkeys(("glove", "mitt"), ("baseball glove",)),
    # kitchen and food
    **dict.fromkeys(("glass", "wineglass"), ("wine glass",)),
    **dict.fromkeys(("mug", "teacup"), ("cup",)),
    **dict.fromkeys(("doughnut",), ("donut",)),
    **dict.fromkeys(("hotdog",), ("hot dog",)),
    # furniture and devices
    **dict.fromkeys(("sofa",), ("couch",)),
    **dict.fromkeys(("plant", "houseplant", "pot plant", "flowerpot"), ("potted plant",)),
    **dict.fromkeys(("table", "desk"), ("dining table",)),
    **dict.fromkeys(("television", "tv monitor", "tvmonitor", "monitor", "screen"), ("tv",)),
    **dict.fromkeys(("notebook computer", "computer"), ("laptop",)),
    **dict.fromkeys(("remote control", "controller"), ("remote",)),
    **dict.fromkeys(("phone", "cellphone", "mobile phone", "smartphone", "mobile"),
                    ("cell phone",)),
    **dict.fromkeys(("fridge",), ("refrigerator",)),
    **dict.fromkeys(("hair dryer", "hairdryer", "blow dryer"), ("hair drier",)),
    **dict.fromkeys(("teddy",), ("teddy bear",)),
    **dict.fromkeys(("wc",), ("toilet",)),
    # shapes
    **dict.fromkeys(("circle", "dot", "disc", "disk", "ring", "round", "round shape",
                     "oval", "ellipse"), ("circle",)),
    **dict.fromkeys(("box", "rectangle", "block", "cube", "tile", "quadrilateral",
                     "diamond"), ("square",)),
    **dict.fromkeys(("pyramid", "wedge"), ("triangle",)),
}

_LEADING_WORDS = ("a", "an", "the", "some", "all", "any", "every", "each")


def clean_label(word: str) -> str:
    """Lower-case, trim, drop articles and punctuation: ``"The Hot-Dogs!"`` → ``"hot dogs"``."""
    return _clean_label(str(word))


@functools.lru_cache(maxsize=8192)
def _clean_label(word: str) -> str:
    text = re.sub(r"[_\-]+", " ", str(word).lower())
    text = re.sub(r"[^\w\s]", "", text)
    tokens = text.split()
    while len(tokens) > 1 and tokens[0] in _LEADING_WORDS:
        tokens = tokens[1:]
    return " ".join(tokens)


def _candidates(text: str) -> Iterator[str]:
    """Names to try for a cleaned label, best first."""
    for form in (text, *singular_forms(text)):
        yield form
        yield from SYNONYMS.get(form, ())
        squashed = form.replace(" ", "")
        if squashed != form:
            yield squashed
            yield from SYNONYMS.get(squashed, ())


def normalise_label(word: str, vocabulary: Iterable[str]) -> str | None:
    """Map a user's word to a class name in ``vocabulary``.

    Handles case, articles, plurals and synonyms: with COCO classes ``"people"``
    → ``"person"``, ``"cars"`` → ``"car"``, ``"bikes"`` → ``"bicycle"``; with shape
    classes ``"boxes"`` → ``"square"``, ``"balls"`` → ``"circle"``.

    Args:
        word: A label as a user or planner wrote it.
        vocabulary: The class names a detector knows.

    Returns:
        The matching class name exactly as spelled in ``vocabulary``, or None.
    """
    vocab = _vocabulary_index(tuple(vocabulary))
    text = clean_label(word)
    if not text:
        return None
    for candidate in _candidates(text):
        if candidate in vocab:
            return vocab[candidate]
    return None


@functools.lru_cache(maxsize=64)
def _vocabulary_index(vocabulary: tuple[str, ...]) -> dict[str, str]:
    """Cleaned class name → class name (the last spelling wins), built once per vocabulary."""
    index: dict[str, str] = {}
    for v in vocabulary:
        index[clean_label(v)] = v
    return index


def canonical_label(word: str) -> str:
    """A label for open-vocabulary detectors: a known class name, else the cleaned singular.

    ``"people"`` → ``"person"``; ``"red kites"`` → ``"red kite"``.
    """
    known = normalise_label(word, COCO_CLASSES + SHAPES_CLASSES)
    if known is not None:
        return known
    text = clean_label(word)
    forms = singular_forms(text)
    return forms[0] if forms else text
