"""Render the bundled example images (deterministic; re-run to regenerate).

    .venv/bin/python examples/make_examples.py

Writes ``shapes_1.png`` (two or more circles, one square), ``shapes_2.png`` (a
red circle to the left of a blue square) and ``sign.png`` (a printed sign),
searching seeds of :func:`lavr.tools.synthetic.render_scene` until a scene fits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from lavr.apps.synthetic_scenes import Scene, render_scene

HERE = Path(__file__).parent
#: The demo's starter examples ship inside the package (``lavr.apps``) as copies of these.
PACKAGED = HERE.parent / "apps" / "data" / "examples"


def _first(fits, **kwargs) -> Scene:
    for seed in range(10_000):
        scene = render_scene(np.random.default_rng(seed), **kwargs)
        if fits(scene):
            return scene
    raise RuntimeError("no seed fits")


def _shapes_1(s: Scene) -> bool:
    shapes = [o.shape for o in s.objects]
    return shapes.count("circle") >= 2 and shapes.count("square") == 1 and len(shapes) <= 5


def _shapes_2(s: Scene) -> bool:
    red = [o for o in s.objects if (o.colour, o.shape) == ("red", "circle")]
    blue = [o for o in s.objects if (o.colour, o.shape) == ("blue", "square")]
    if len(red) != 1 or len(blue) != 1:
        return False
    return red[0].xyxy[2] + 20 < blue[0].xyxy[0]


def main() -> None:
    scenes = {
        "shapes_1.png": _first(_shapes_1, width=480, height=360, n_objects=(4, 5)),
        "shapes_2.png": _first(_shapes_2, width=480, height=360, n_objects=(3, 5)),
        "sign.png": _first(lambda s: True, width=480, height=320, n_objects=(2, 3),
                           text="OPEN DAILY"),
    }
    for name, scene in scenes.items():
        Image.fromarray(scene.image).save(HERE / name)
        Image.fromarray(scene.image).save(PACKAGED / name)
        print(name, [(o.colour, o.shape) for o in scene.objects], [t.text for t in scene.texts])


if __name__ == "__main__":
    main()
