"""Dragging and pointing on drawn figures: the drag action, circles, angles and sliders from
pixels, the grammar that names them, and the agent's choices (pure; no browser, no OCR model)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image, ImageDraw

from lavr.episodes.draw import draw_step
from lavr.episodes.gui import arrange, geometry, sliders
from lavr.episodes.gui.agent import GuiAgent
from lavr.episodes.gui.instruction import parse_instruction
from lavr.episodes.gui.perception import ScreenElement, ScreenParse
from lavr.episodes.loop import GUI_ACTIONS, Action, StepRecord

BANNER = (0, 0, 160, 50)


def _canvas() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    img = Image.new("RGB", (160, 210), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, 159, 49], fill=(255, 255, 0))  # the instruction banner
    return img, d


# -- the drag action -----------------------------------------------------------------------
def test_drag_action_describes_serialises_and_is_drawn() -> None:
    a = Action.drag(10, 60, 90, 120)
    assert "drag" in GUI_ACTIONS and a.kind == "drag"
    assert a.point == (10.0, 60.0) and a.end == (90.0, 120.0)
    assert a.describe() == "drag(10, 60 -> 90, 120)"
    assert a.to_json() == {"kind": "drag", "x": 10.0, "y": 60.0, "x2": 90.0, "y2": 120.0}
    assert Action.click(1, 2).end is None and "x2" not in Action.click(1, 2).to_json()
    img = np.full((210, 160, 3), 255, np.uint8)
    pic = np.asarray(draw_step(StepRecord(1, a, "why", 0.0, image=img, point=a.point), scale=2))
    # the line from press to release is drawn: its middle is red
    mx, my = (10 + 90), (60 + 120)  # (x2 scale: the midpoint at scale 2)
    assert tuple(pic[my, mx]) == (255, 0, 0)
    plain = np.asarray(draw_step(StepRecord(1, Action.click(10, 60), "why", 0.0, image=img,
                                            point=(10, 60)), scale=2))
    assert tuple(plain[my, mx]) == (255, 255, 255)


# -- grammar -------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "geometry_", "op"), [
    ("Find and click on the center of the circle, then press submit.", "center", "click"),
    ("Click the centre of the large circle", "center", "click"),
    ("Create a line that bisects the angle evenly in two, then press submit.", "bisector", "draw"),
    ("Draw a line that divides the angle in half.", "bisector", "draw"),
    ("Bisect the angle.", "bisector", "draw"),
])
def test_grammar_of_points_and_lines_on_figures(text: str, geometry_: str, op: str) -> None:
    first = parse_instruction(text).intents[0]
    assert (first.op, first.geometry) == (op, geometry_)


def test_grammar_leaves_other_sentences_alone() -> None:
    (intent,) = parse_instruction("Click the middle button").intents
    assert not intent.geometry and intent.target == "middle"
    (intent,) = parse_instruction("Click on a large red circle").intents
    assert not intent.geometry and intent.figure == ("large", "red", "circle")
    assert parse_instruction("Draw a line under the title.").intents == ()
    intents = parse_instruction("Select 5 with the spinner and hit Submit.").intents
    assert intents[0].kinds == ("input",)


@pytest.mark.parametrize(("text", "value"), [
    ("Select -99 with the slider and hit Submit.", "-99"),
    ("Set the slider to 40 and press OK", "40"),
    ("Move the range slider to 7.", "7"),
])
def test_grammar_of_sliders(text: str, value: str) -> None:
    intent = parse_instruction(text).intents[0]
    assert (intent.op, intent.kinds, intent.text) == ("set", ("slider",), value)


# -- circles -------------------------------------------------------------------------------
def test_fit_circle_is_exact_on_points_of_a_circle() -> None:
    t = np.linspace(0, 2 * np.pi, 50, endpoint=False)
    cx, cy, r, rms = geometry.fit_circle(40 + 12 * np.cos(t), 70 + 12 * np.sin(t))
    assert (round(cx, 6), round(cy, 6), round(r, 6)) == (40.0, 70.0, 12.0) and rms < 1e-9
    with pytest.raises(ValueError, match="at least 3"):
        geometry.fit_circle(np.array([1.0, 2.0]), np.array([1.0, 2.0]))


def test_finds_a_ring_a_disc_and_a_ring_half_hidden_but_not_squares_or_ovals() -> None:
    img, d = _canvas()
    d.ellipse([20, 60, 80, 120], outline=(0, 0, 0))  # ring: centre (50.5, 90.5), r 30
    d.ellipse([110, 60, 130, 80], fill=(200, 0, 0))  # disc: centre (120.5, 70.5)
    d.rectangle([100, 100, 140, 140], outline=(0, 0, 0))  # square outline
    d.ellipse([20, 150, 90, 175], outline=(0, 0, 0))  # an oval
    found = geometry.find_circles(np.asarray(img), top=50)
    assert len(found) == 2, [c.describe() for c in found]
    ring, disc = found
    assert math.dist(ring.center, (50.5, 90.5)) < 1.0 and abs(ring.radius - 30) < 1.5
    assert math.dist(disc.center, (120.5, 70.5)) < 1.0
    # a widget in front of the ring's bottom: the arc left still has its centre
    img2, d2 = _canvas()
    d2.ellipse([20, 60, 80, 120], outline=(0, 0, 0))
    d2.rectangle([10, 108, 100, 140], fill=(230, 230, 230), outline=(100, 100, 100))
    (cut,) = geometry.find_circles(np.asarray(img2), top=50, exclude=[(10, 108, 101, 141)])
    assert math.dist(cut.center, (50.5, 90.5)) < 1.5


# -- angles --------------------------------------------------------------------------------
def _angle(vertex: tuple[int, int], a: tuple[int, int], b: tuple[int, int]) -> np.ndarray:
    img, d = _canvas()
    d.line([vertex, a], fill=(0, 0, 0))
    d.line([vertex, b], fill=(0, 0, 0))
    for p, colour in ((vertex, (0, 0, 255)), (a, (0, 0, 0)), (b, (0, 0, 0))):
        d.ellipse([p[0] - 3, p[1] - 3, p[0] + 3, p[1] + 3], fill=colour)
    return np.asarray(img)


@pytest.mark.parametrize(("vertex", "a", "b"), [
    ((20, 70), (140, 90), (90, 150)),  # acute
    ((80, 80), (20, 150), (140, 140)),  # wide
    ((130, 160), (20, 100), (100, 60)),
    ((8, 120), (58, 112), (123, 134)),  # narrow: the arms share pixels near the vertex
    ((11, 65), (72, 117), (92, 167)),  # 12 degrees
])
def test_angle_vertex_and_bisector(vertex, a, b) -> None:
    (found,) = geometry.find_angles(_angle(vertex, a, b), top=50)
    v = (vertex[0] + 0.5, vertex[1] + 0.5)
    want = math.degrees(abs(math.atan2(a[1] - vertex[1], a[0] - vertex[0]) -
                            math.atan2(b[1] - vertex[1], b[0] - vertex[0])))
    want = min(want, 360 - want)
    # (a narrow angle's vertex is less sure along its bisector, which does not matter)
    assert math.dist(found.vertex, v) < (1.5 if want > 20 else 3.0), found.describe()
    assert abs(found.degrees - want) < 2.5
    px, py = found.bisector_point()
    half = [math.degrees(math.acos(
        ((px - v[0]) * (e[0] - v[0]) + (py - v[1]) * (e[1] - v[1])) /
        (math.hypot(px - v[0], py - v[1]) * math.hypot(e[0] - v[0], e[1] - v[1]))))
        for e in ((a[0] + .5, a[1] + .5), (b[0] + .5, b[1] + .5))]
    assert abs(half[0] - half[1]) < 3.0, half
    # the point lies between the arms, on the drawing (inside the triangle)
    lo_x, hi_x = min(vertex[0], a[0], b[0]), max(vertex[0], a[0], b[0])
    assert lo_x <= px <= hi_x


@pytest.mark.parametrize("bend", [0, 3])
def test_a_straight_angle_is_a_stroke_with_its_vertex_marked(bend: int) -> None:
    # the arms in one line (or nearly): the vertex is the dot drawn inside the stroke
    (found,) = geometry.find_angles(_angle((70, 120 + bend), (20, 70), (120, 170)), top=50)
    assert math.dist(found.vertex, (70.5, 120.5 + bend)) < 2.0, found.describe()
    px, py = found.bisector_point()
    assert 8 <= math.dist((px, py), found.vertex) <= 40
    # about square to the arms
    ux, uy = (px - found.vertex[0], py - found.vertex[1])
    assert abs(ux * 100 + uy * 100) / (math.hypot(ux, uy) * math.hypot(100, 100)) < 0.2


def test_a_rectangle_or_a_single_line_is_no_angle() -> None:
    img, d = _canvas()
    d.rectangle([20, 70, 120, 120], outline=(0, 0, 0))
    d.line([(10, 150), (150, 170)], fill=(0, 0, 0))
    assert geometry.find_angles(np.asarray(img), top=50) == []
    img, d = _canvas()  # two strokes crossing in their middles: an X, no angle
    d.line([(20, 60), (120, 160)], fill=(0, 0, 0))
    d.line([(20, 160), (120, 60)], fill=(0, 0, 0))
    assert geometry.find_angles(np.asarray(img), top=50) == []


# -- sliders -------------------------------------------------------------------------------
def _slider(vertical: bool, at: float) -> tuple[np.ndarray, tuple[float, float]]:
    """A track 100 px long (light grey outline) with a handle at ``at`` (0 low end, 1 high)."""
    img, d = _canvas()
    grey = (197, 197, 197)
    if vertical:
        d.rounded_rectangle([20, 60, 29, 160], radius=3, outline=grey, fill=(255, 255, 255))
        y = 160 - at * 100
        box = (18, int(y) - 6, 31, int(y) + 6)
    else:
        d.rounded_rectangle([20, 80, 120, 89], radius=3, outline=grey, fill=(255, 255, 255))
        x = 20 + at * 100
        box = (int(x) - 6, 78, int(x) + 6, 91)
    d.rounded_rectangle(list(box), radius=3, outline=grey, fill=(246, 246, 246))
    return np.asarray(img), ((box[0] + box[2] + 1) / 2, (box[1] + box[3] + 1) / 2)


@pytest.mark.parametrize("vertical", [False, True])
@pytest.mark.parametrize("at", [0.0, 0.3, 1.0])
def test_finds_a_slider_its_handle_and_where_it_is(vertical: bool, at: float) -> None:
    img, grip = _slider(vertical, at)
    (s,) = sliders.find_sliders(img, top=50)
    assert s.vertical == vertical
    assert math.dist(s.grip, grip) <= 1.5, (s.describe(), grip)
    assert abs(s.position - at) <= 0.08, s.describe()


def test_a_bar_without_a_handle_or_a_button_is_no_slider() -> None:
    img, d = _canvas()
    d.rectangle([20, 80, 120, 89], outline=(197, 197, 197))
    d.rectangle([20, 120, 120, 150], outline=(100, 100, 100), fill=(230, 230, 230))
    assert sliders.find_sliders(np.asarray(img), top=50) == []


def test_value_label_is_the_nearest_number_beside_the_slider() -> None:
    img, _ = _slider(False, 0.5)
    (s,) = sliders.find_sliders(img, top=50)
    labels = [((125, 80, 140, 90), 42.0), ((10, 190, 30, 200), 7.0)]
    assert sliders.value_label(s, labels) == ((125, 80, 140, 90), 42.0)
    assert sliders.value_label(s, [((10, 190, 30, 200), 7.0)]) is None


# -- the agent -----------------------------------------------------------------------------
class _Reader:
    """A text reader that reads a fixed text in every box (no OCR model)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def read(self, image: np.ndarray, boxes, *, pad: int = 2):
        return [(self.text, 0.99) for _ in boxes]


def _agent(reader: str = "") -> GuiAgent:
    return GuiAgent(text_reader=_Reader(reader), semantic=False)


def test_agent_clicks_the_fitted_centre_of_a_circle() -> None:
    img, d = _canvas()
    d.ellipse([30, 70, 100, 140], outline=(0, 0, 0))  # centre (65.5, 105.5)
    d.line([(65, 105), (100, 105)], fill=(0, 0, 0))  # a radius drawn inside: not the centre
    agent = _agent()
    agent.reset("Click on the center of the circle.")
    (intent,) = agent.plan.intents
    choice = agent.choose(intent, ScreenParse(image=np.asarray(img), elements=[], banner=BANNER))
    assert choice is not None and math.dist(choice.element.click_point, (65.5, 105.5)) < 1.5


def test_agent_draws_the_bisector_by_dragging_from_the_vertex() -> None:
    img = _angle((20, 70), (140, 90), (90, 150))
    agent = _agent()
    agent.reset("Create a line that bisects the angle.")
    choice = agent.decide(_obs(img))
    a = choice.action
    assert a.kind == "drag" and math.dist(a.point, (20.5, 70.5)) < 1.5
    # the release point lies on the bisector
    v = np.array([20.5, 70.5])
    ua, ub = (np.array(e) - v for e in ((140.5, 90.5), (90.5, 150.5)))
    mid = ua / np.linalg.norm(ua) + ub / np.linalg.norm(ub)
    to = np.array(a.end) - v
    assert math.degrees(math.acos(to @ mid / (np.linalg.norm(to) * np.linalg.norm(mid)))) < 2.0


def _obs(img: np.ndarray):
    from lavr.episodes.loop import Observation

    return Observation(image=img, instruction="x")  # (the plan is made by reset)


def _slider_screen(value_at: float, label: str = "42", *, font: str = "") -> np.ndarray:
    from PIL import ImageFont

    img, _ = _slider(False, value_at)
    pil = Image.fromarray(img)
    d = ImageDraw.Draw(pil)
    face = ImageFont.truetype(font, 12) if font else None
    d.text((126, 79), label, fill=(0, 0, 0), font=face)  # the value label right of the track
    return np.asarray(pil)


def test_agent_focuses_the_slider_handle_and_presses_arrows_by_the_difference() -> None:
    agent = _agent("40")
    agent.reset("Select 47 with the slider and hit Submit.")
    img = _slider_screen(0.4)
    first = agent.decide(_obs(img))
    assert first.action.kind == "click"
    (s,) = sliders.find_sliders(img, top=0, exclude=[])
    assert math.dist(first.action.point, s.grip) < 1.0
    keys = agent.decide(_obs(img))  # the pending key presses
    assert keys.action == Action.press("<ArrowRight>", 7)


def test_agent_leaves_the_slider_when_it_reads_the_value_and_goes_on() -> None:
    agent = _agent("47")
    agent.reset("Select 47 with the slider.")
    step = agent.decide(_obs(_slider_screen(0.4)))
    assert step.action.kind == "done" and "shows 47" in step.summary


def test_agent_drags_the_handle_when_keys_do_not_move_it() -> None:
    agent = _agent("40")
    agent.reset("Set the slider to 60.")
    img = _slider_screen(0.4)
    agent.decide(_obs(img))  # click the handle
    agent.decide(_obs(img))  # the keys
    again = agent.decide(_obs(img))  # the value still reads 40: keys do nothing here
    a = again.action
    assert a.kind == "drag" and a.end[0] > a.point[0] and a.end[1] == a.point[1]


def test_screen_element_for_a_point_is_a_figure() -> None:
    el = ScreenElement("figure", (0, 0, 10, 10), anchor=(3.0, 4.0))
    assert el.click_point == (3.0, 4.0)


def test_model_rules_offer_the_rules_drag_as_a_candidate() -> None:
    from lavr.episodes.gui.model_rules import GuiRules

    rules = GuiRules(_agent())
    rules.reset("Bisect the angle.")
    choice = rules.decide(_obs(_angle((20, 70), (140, 90), (90, 150))))
    cands = rules.candidate_actions()
    assert cands[choice.action.describe()] == choice.action and choice.action.kind == "drag"
    assert "drag the pointer" in rules.describe_state()


class _ZoomReader(_Reader):
    """Reads ``text`` at its own zoom and ``sharp`` at any other zoom."""

    def __init__(self, text: str, sharp: str) -> None:
        super().__init__(text)
        self.sharp = sharp

    def at_zoom(self, zoom: float) -> _Reader:
        return _Reader(self.sharp)


def test_a_reading_against_the_presses_is_read_again_at_another_zoom() -> None:
    agent = GuiAgent(text_reader=_ZoomReader("40", "40"), semantic=False)
    agent.reset("Select 47 with the slider and hit Submit.")
    img = _slider_screen(0.4)
    agent.decide(_obs(img))
    agent.decide(_obs(img))  # 7 presses: 47 expected
    agent.text_reader = _ZoomReader("5", "47")  # a misread "47"; read sharper: 47
    step = agent.decide(_obs(img))
    assert "shows 47" in step.summary
    agent = GuiAgent(text_reader=_ZoomReader("40", "40"), semantic=False)
    agent.reset("Select 47 with the slider and hit Submit.")
    agent.decide(_obs(img))
    agent.decide(_obs(img))
    agent.text_reader = _ZoomReader("44", "45")  # no reading agrees: the first one stands
    step = agent.decide(_obs(img))
    # the first reading stands; the handle kept the focus: 3 more presses
    assert "shows 44" in step.summary and step.action == Action.press("<ArrowRight>", 3)


def test_a_slider_hidden_in_a_focus_ring_is_read_where_it_was_seen() -> None:
    agent = _agent("40")
    agent.reset("Select 47 with the slider.")
    agent.decide(_obs(_slider_screen(0.4)))
    agent.decide(_obs(_slider_screen(0.4)))  # the keys
    ringed = Image.fromarray(_slider_screen(0.47))
    ImageDraw.Draw(ringed).rectangle([10, 72, 124, 97], outline=(20, 20, 20), width=2)
    agent.text_reader = _Reader("47")
    step = agent.decide(_obs(np.asarray(ringed)))
    assert step.action.kind == "done" and "shows 47" in step.summary


def test_a_minus_ocr_drops_is_read_from_the_glyphs() -> None:
    from pathlib import Path

    font = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    if not Path(font).is_file():
        pytest.skip("DejaVu Sans not installed")
    agent = _agent("4")  # OCR lost the minus of "-4"
    agent.reset("Select -4 with the slider.")
    step = agent.decide(_obs(_slider_screen(0.4, "-4", font=font)))
    assert step.action.kind == "done" and "shows -4" in step.summary
    agent = _agent("4")
    agent.reset("Select -4 with the slider.")
    step = agent.decide(_obs(_slider_screen(0.4, "4", font=font)))  # a real 4: no minus
    assert step.action.kind == "click" and "shows 4" in step.summary


def test_the_value_per_press_is_learnt_when_it_is_a_round_step() -> None:
    agent = _agent("40")
    agent.reset("Set the slider to 60.")
    img = _slider_screen(0.4)
    agent.decide(_obs(img))
    assert agent.decide(_obs(img)).action == Action.press("<ArrowRight>", 20)
    agent.text_reader = _Reader("80")  # 20 presses moved it by 40: it steps by 2
    assert agent.decide(_obs(img)).action == Action.press("<ArrowLeft>", 10)


class _WholeLabelReader:
    """Reads ``text`` only when the box starts where the label starts (not a cut piece)."""

    def __init__(self, text: str, left: int) -> None:
        self.text, self.left = text, left

    def read(self, image: np.ndarray, boxes, *, pad: int = 2):
        return [(self.text if abs(b[0] - self.left) <= 1 else "", 0.99) for b in boxes]


def test_a_label_right_against_the_handle_is_read_whole() -> None:
    img, _ = _slider(False, 1.0)  # the handle at the right end, up to x=126
    (s,) = sliders.find_sliders(img, top=50)
    pil = Image.fromarray(img)
    ImageDraw.Draw(pil).rectangle([s.box[2] + 1, 81, s.box[2] + 8, 88], fill=(0, 0, 0))
    agent = GuiAgent(text_reader=_WholeLabelReader("7", s.box[2] + 1), semantic=False)
    agent.reset("Select 7 with the slider.")
    step = agent.decide(_obs(np.asarray(pil)))
    assert "shows 7" in step.summary


def test_a_slider_reaches_half_a_handle_beyond_its_track_ends() -> None:
    img, _ = _slider(False, 0.5)  # track 20..120, handle 12 px wide in the middle
    (s,) = sliders.find_sliders(img, top=50)
    assert s.reach[0] <= 15 and s.reach[2] >= 125 and s.reach[1:4:2] == s.box[1:4:2]
    img, _ = _slider(False, 1.0)  # the handle already out over the right end
    (s,) = sliders.find_sliders(img, top=50)
    assert s.reach[2] == s.box[2]


# -- lines through points, joining figures, right angles -----------------------------------
@pytest.mark.parametrize(("text", "geometry_", "figure"), [
    ("Draw a vertical line that runs through the dot, then press submit.", "vertical",
     ("", "", "circle")),
    ("Drav & horizontal line that runs through the dot, then press submic.", "horizontal",
     ("", "", "circle")),  # (OCR: 'Drav', '&' for 'a')
    ("Draw an upright line across the red circle", "vertical", ("", "red", "circle")),
    ("Draw a line connecting the two dots", "connect", ("", "", "circle")),
    ("Connect the dots.", "connect", ("", "", "circle")),
    ("Add a third point to create a right angle, then press submit.", "square-corner", None),
    ("Click a point that makes a 90 degree angle", "square-corner", None),
])
def test_grammar_of_lines_and_right_angles(text: str, geometry_: str, figure) -> None:
    first = parse_instruction(text).intents[0]
    assert (first.op, first.geometry, first.figure) == ("draw", geometry_, figure)


def test_free_reach_stops_at_a_frame_a_widget_or_the_banner() -> None:
    img, d = _canvas()
    d.rectangle([10, 60, 150, 170], outline=(0, 0, 0))  # a frame
    d.ellipse([76, 96, 84, 104], fill=(128, 0, 128))  # a dot at (80, 100)
    image = np.asarray(img)
    dot = (76, 96, 85, 105)
    down = geometry.free_reach(image, (80, 100), (0, 1), top=50, skip=dot, limit=100)
    assert 60 <= down <= 67  # the frame's bottom at y 170, less the margin
    up = geometry.free_reach(image, (80, 100), (0, -1), top=50, skip=dot, limit=100)
    assert 30 <= up <= 37
    assert geometry.free_reach(image, (80, 100), (0, 1), top=50, skip=dot) == 40  # (the limit)
    # without the dot skipped, the dot itself is in the way
    assert geometry.free_reach(image, (80, 100), (0, 1), top=50) == 0
    # a widget on the way stops it
    assert geometry.free_reach(image, (80, 100), (1, 0), top=50, skip=dot,
                               exclude=[(100, 90, 130, 110)], limit=100) < 17


def test_square_point_and_which_end_a_new_line_joins() -> None:
    img, d = _canvas()
    d.line([(30, 80), (110, 140)], fill=(0, 0, 0))
    for p in ((30, 80), (110, 140)):
        d.ellipse([p[0] - 3, p[1] - 3, p[0] + 3, p[1] + 3], fill=(0, 0, 0))
    image = np.asarray(img)
    seg = geometry.longest_segment(image, top=50)
    assert seg is not None and seg.length > 90
    a, b = sorted((seg.start, seg.end))
    assert math.dist(a, (30, 80)) < 5 and math.dist(b, (110, 140)) < 5
    p = geometry.square_point(b, a, image, top=50)
    assert p is not None
    # square to the segment at b, within the screen, as far as there is room
    u = (a[0] - b[0], a[1] - b[1])
    v = (p[0] - b[0], p[1] - b[1])
    assert abs(u[0] * v[0] + u[1] * v[1]) / (math.hypot(*u) * math.hypot(*v)) < 0.05
    assert 0 <= p[0] < 160 and 50 <= p[1] < 210 and math.hypot(*v) >= 12
    changed = np.zeros(image.shape[:2], bool)
    after = img.copy()
    ImageDraw.Draw(after).line([p, b], fill=(0, 0, 255))
    changed = np.abs(np.asarray(after).astype(int) - image.astype(int)).max(axis=2) > 40
    assert geometry.joins(changed, p, b) == 1.0 and geometry.joins(changed, p, a) < 0.5


def test_agent_draws_a_vertical_line_through_the_dot() -> None:
    img, d = _canvas()
    d.rectangle([5, 55, 155, 165], outline=(0, 0, 0))
    d.ellipse([96, 126, 104, 134], fill=(128, 0, 128))  # a dot at (100, 130)
    agent = _agent()
    agent.reset("Draw a vertical line that runs through the dot.")
    step = agent.decide(_obs(np.asarray(img)))
    assert step.action.kind == "drag"
    (x1, y1), (x2, y2) = step.action.point, step.action.end
    assert abs(x1 - 100) <= 1 and x1 == x2  # straight down through the dot
    assert 55 < min(y1, y2) < 126 and 134 < max(y1, y2) < 165  # inside the frame, across it


def test_agent_puts_the_corner_point_at_the_end_the_page_joins_it_to() -> None:
    img, d = _canvas()
    ends = ((30, 80), (110, 140))
    d.line(list(ends), fill=(0, 0, 0))
    for p in ends:
        d.ellipse([p[0] - 3, p[1] - 3, p[0] + 3, p[1] + 3], fill=(0, 0, 0))
    agent = _agent()
    agent.reset("Add a third point to create a right angle, then press submit.")
    first = agent.decide(_obs(np.asarray(img)))
    assert first.action.kind == "click"
    p = first.action.point
    tried = min(ends, key=lambda e: math.dist(e, p))  # the corner it tried: the nearer end
    other = ends[1] if tried == ends[0] else ends[0]
    # the page joins the new point to the other end: that end is the corner
    after = img.copy()
    ImageDraw.Draw(after).line([p, other], fill=(0, 0, 255))
    second = agent.decide(_obs(np.asarray(after)))
    assert second.action.kind == "click"
    q = second.action.point
    u = (tried[0] - other[0], tried[1] - other[1])
    v = (q[0] - other[0], q[1] - other[1])
    assert abs(u[0] * v[0] + u[1] * v[1]) / (math.hypot(*u) * math.hypot(*v)) < 0.1
    # now joined to the corner it was put at: done with it, on to the next intent
    final = img.copy()
    ImageDraw.Draw(final).line([q, other], fill=(0, 0, 255))
    third = agent.decide(_obs(np.asarray(final)))
    assert "done" in third.summary and third.action.kind in ("click", "done", "wait")


# -- widgets resized by their grip ----------------------------------------------------------
def _text_area(box: tuple[int, int, int, int]) -> np.ndarray:
    """A text area with a resize grip (``/`` strokes) in its bottom-right corner, and a
    Submit button below."""
    img, d = _canvas()
    x1, y1, x2, y2 = box
    d.rectangle([x1, y1, x2 - 1, y2 - 1], outline=(118, 118, 118), fill=(255, 255, 255))
    for k in (8, 10, 12):  # three parallel strokes: row + column constant in the corner
        d.point([(x2 - 10 + c, y2 - 10 + k - c) for c in range(2, 9) if 2 <= k - c <= 8],
                fill=(68, 68, 68))
    d.rectangle([50, 180, 149, 205], outline=(150, 150, 150), fill=(239, 239, 239))
    return np.asarray(img)


@pytest.mark.parametrize(("text", "how"), [
    ("Resize the textarea so that the height is smaller than its initial size then press "
     "Submit.", "height:-"),
    ("Resize the textarea so that the vidth is larger than its initial size then press "
     "Submit:", "width:+"),
    ("Make the text area wider.", "width:+"),
    ("Shrink the box vertically, then click OK", "height:-"),
    ("Enlarge the text area", "both:+"),
])
def test_grammar_of_resizing(text: str, how: str) -> None:
    first = parse_instruction(text).intents[0]
    assert (first.op, first.text) == ("resize", how)


def test_grammar_leaves_other_makes_alone() -> None:
    # (making text bold is a text style, no drawing or resizing: see test_gui_editing.py)
    assert [(i.op, i.target, i.text) for i in parse_instruction("Make the text bold").intents] \
        == [("style", "", "bold")]
    assert parse_instruction("Make sure the box is checked").intents == ()


@pytest.mark.parametrize("box", [(30, 70, 90, 120), (36, 81, 120, 151)])  # 50 and 70 px tall
def test_a_text_area_with_a_grip_is_an_input_however_tall(box: tuple[int, int, int, int]) -> None:
    from lavr.episodes.gui.perception import find_elements

    parse = find_elements(_text_area(box))
    (area,) = parse.of_kind("input")
    assert area.icon == "grip" and area.box == (box[0] + 1, box[1] + 1, box[2] - 1, box[3] - 1)


def test_agent_drags_the_grip_then_checks_the_size_changed() -> None:
    box = (30, 70, 90, 120)
    agent = _agent("Submit")
    agent.reset("Resize the textarea so that the width is smaller than its initial size.")
    step = agent.decide(_obs(_text_area(box)))
    assert step.action.kind == "drag"
    (gx, gy), (ex, ey) = step.action.point, step.action.end
    assert box[2] - 8 <= gx < box[2] and box[3] - 8 <= gy < box[3]  # on the grip
    assert ex < gx and ey == gy  # narrower: left, the height kept
    narrower = (30, 70, 70, 120)
    step = agent.decide(_obs(_text_area(narrower)))
    assert "(31, 71, 89, 119) -> (31, 71, 69, 119)" in step.summary and "gave up" not in step.summary
    # grows only as far as the room below it (the button at y 180)
    agent = _agent("Submit")
    agent.reset("Make the text area taller.")
    tall = (36, 81, 120, 160)
    step = agent.decide(_obs(_text_area(tall)))
    assert step.action.kind == "drag" and 0 < step.action.end[1] - step.action.point[1] <= 20 < 30


def test_agent_puts_the_corner_point_at_the_other_end_when_one_end_has_no_room() -> None:
    img, d = _canvas()
    ends = ((9, 200), (92, 120))  # the first end sits in the screen's bottom-left corner
    d.line(list(ends), fill=(0, 0, 0))
    for p in ends:
        d.ellipse([p[0] - 3, p[1] - 3, p[0] + 3, p[1] + 3], fill=(0, 0, 0))
    agent = _agent()
    agent.reset("Add a third point to create a right angle, then press submit.")
    step = agent.decide(_obs(np.asarray(img)))
    assert step.action.kind == "click"
    q = step.action.point
    u = (ends[0][0] - ends[1][0], ends[0][1] - ends[1][1])
    v = (q[0] - ends[1][0], q[1] - ends[1][1])
    assert abs(u[0] * v[0] + u[1] * v[1]) / (math.hypot(*u) * math.hypot(*v)) < 0.1


# -- one thing dragged onto another ---------------------------------------------------------
@pytest.mark.parametrize(("text", "figure", "place"), [
    ("Drag the small circle into the large box.", ("small", "", "circle"),
     "onto-figure:large,,rectangle"),
    ("Put the red square on the blue one", ("", "red", "rectangle"), "onto-figure:,blue,rectangle"),
    ("Drag the larger square onto the smaller square", ("large", "", "rectangle"),
     "onto-figure:small,,rectangle"),
    ('Move "Apple" onto the basket', None, "onto-text:basket"),
    ("Drag the item to the green circle", ("", "", ""), "onto-figure:,green,circle"),
])
def test_grammar_of_dragging_onto(text: str, figure, place: str) -> None:
    first = parse_instruction(text).intents[0]
    assert (first.op, first.figure, first.place) == ("move", figure, place)


def test_grammar_of_dragging_onto_leaves_typing_and_lists_alone() -> None:
    assert parse_instruction('Put "abc" into the text box').intents[0].op == "type"
    assert parse_instruction("Drag Ann to the top").intents[0].op == "reorder"
    assert parse_instruction("Move the slider to 4").intents[0].kinds == ("slider",)


def test_agent_drags_a_figure_onto_another_and_checks_it_left() -> None:
    img, d = _canvas()
    d.ellipse([20, 150, 32, 162], fill=(220, 30, 30))  # a small red circle at (26, 156)
    d.rectangle([80, 70, 140, 130], fill=(40, 90, 220))  # a large blue square at (110, 100)
    agent = _agent()
    agent.reset("Drag the small circle into the large square.")
    step = agent.decide(_obs(np.asarray(img)))
    assert step.action.kind == "drag"
    assert math.dist(step.action.point, (26.5, 156.5)) < 2
    assert math.dist(step.action.end, (110.5, 100.5)) < 2
    moved, d2 = _canvas()
    d2.rectangle([80, 70, 140, 130], fill=(40, 90, 220))
    d2.ellipse([104, 94, 116, 106], fill=(220, 30, 30))  # now inside the square
    step = agent.decide(_obs(np.asarray(moved)))
    assert "moved" in step.summary and step.action.kind != "drag"


def test_frames_are_hollow_outlines_and_take_what_is_dropped_into_a_box() -> None:
    img, d = _canvas()
    d.rectangle([10, 60, 70, 120], outline=(60, 60, 60), width=2)  # a hollow box
    d.rectangle([90, 60, 130, 100], fill=(40, 90, 220))  # a filled square: no frame
    d.ellipse([100, 150, 112, 162], fill=(220, 30, 30))  # a red circle
    image = np.asarray(img)
    assert geometry.find_frames(image, top=50) == [(10, 60, 71, 121)]
    agent = _agent()
    agent.reset("Drag the red circle into the box.")
    step = agent.decide(_obs(image))
    assert step.action.kind == "drag" and math.dist(step.action.end, (40.5, 90.5)) < 1.5


@pytest.mark.parametrize(("text", "figure", "place"), [
    ("Drag the smaller box so that it is completely inside the larger box.",
     ("small", "", "rectangle"), "onto-figure:large,,rectangle"),
    ("Move the red circle until it is inside the box", ("", "red", "circle"),
     "onto-figure:,,rectangle"),
    ("Drag the circle left then press Submit.", ("", "", "circle"), "by:0:-1"),
    ("Drag the item down then press Submit.", ("", "", ""), "by:1:0"),
    ("Move the blue triangle up", ("", "blue", "triangle"), "by:-1:0"),
])
def test_grammar_of_carrying_into_a_place_or_a_step_away(text: str, figure, place: str) -> None:
    first = parse_instruction(text).intents[0]
    assert (first.op, first.figure, first.place, first.repeat) == ("move", figure, place, False)


def test_grammar_of_carrying_every_figure_and_the_rest() -> None:
    (one,) = parse_instruction("Drag all rectangles into the black box.").intents
    assert (one.op, one.figure, one.place, one.repeat) == \
        ("move", ("", "", "rectangle"), "onto-figure:,black,rectangle", True)
    a, b = parse_instruction("Drag all red shapes into the left box, and everything else into "
                             "the right box.").intents
    assert (a.figure, a.place, a.repeat, a.rest) == \
        (("", "red", "shape"), "onto-figure:,,rectangle,left", True, False)
    assert (b.place, b.repeat, b.rest) == ("onto-figure:,,rectangle,right", True, True)
    assert "every other figure" in b.describe() and "left" in a.describe()
    # a list's item moved a step is still a reorder; resizing is still resizing
    assert parse_instruction("Drag Marthena up by one.").intents[0].op == "reorder"
    assert parse_instruction("Make the text area taller.").intents[0].op == "resize"


def test_a_step_and_a_free_slot_in_a_frame() -> None:
    assert arrange.step_point((50, 100), 0, -1, 30, bounds=(0, 50, 160, 210)) == (14.0, 100)
    assert arrange.step_point((10, 100), 0, -1, 10, bounds=(0, 50, 160, 210)) == (3.0, 100)
    ink = np.zeros((210, 160), bool)
    frame = (20, 60, 100, 105)
    ink[60:62, 20:100] = ink[103:105, 20:100] = ink[60:105, 20:22] = ink[60:105, 98:100] = True
    first = arrange.frame_slot(ink, frame, 14)
    assert 20 + 2 + 7 < first[0] < 45 and 60 + 2 + 7 < first[1] < 80
    ink[int(first[1]) - 7:int(first[1]) + 7, int(first[0]) - 7:int(first[0]) + 7] = True
    second = arrange.frame_slot(ink, frame, 14)
    assert second[0] - first[0] >= 14 and second[1] == first[1]  # the next free one
    assert arrange.on_side([(84, 5, 154, 55), (2, 5, 72, 55)], "left") == (2, 5, 72, 55)
    assert arrange.on_side([(84, 5, 154, 55), (2, 5, 72, 55)], "right") == (84, 5, 154, 55)


def test_agent_drags_a_figure_a_step_the_way_asked() -> None:
    img, d = _canvas()
    d.ellipse([60, 100, 90, 130], fill=(30, 160, 30), outline=(0, 0, 0))  # a circle at (75, 115)
    agent = _agent()
    agent.reset("Drag the circle left then press Submit.")
    step = agent.decide(_obs(np.asarray(img)))
    a = step.action
    assert a.kind == "drag" and math.dist(a.point, (75.5, 115.5)) < 2
    assert a.end[0] < a.point[0] - 25 and abs(a.end[1] - a.point[1]) < 1


def test_a_shape_drawn_as_a_thin_outline_is_that_shape_and_a_frame_around_others_is_not() -> None:
    from lavr.episodes.gui import shapes

    img, d = _canvas()
    d.ellipse([60, 100, 94, 134], fill=(255, 255, 255), outline=(0, 0, 0))  # a white disc
    d.polygon([(20, 190), (35, 160), (50, 190)], fill=(255, 255, 255), outline=(0, 0, 0))
    d.rectangle([100, 150, 150, 200], outline=(0, 0, 0))  # a frame ...
    d.rectangle([115, 165, 125, 175], fill=(220, 30, 30))  # ... around a red square
    figs = shapes.find_figures(np.asarray(img), top=50)
    kinds = sorted((f.kind, f.colour) for f in figs)
    assert ("circle", "white") in kinds and ("triangle", "white") in kinds
    assert ("rectangle", "red") in kinds and len(figs) == 4
    assert not any(f.kind == "rectangle" and f.colour == "white" for f in figs)
    agent = _agent()
    agent.reset("Drag the circle down then press Submit.")
    a = agent.decide(_obs(np.asarray(img))).action
    assert a.kind == "drag" and math.dist(a.point, (77.5, 117.5)) < 2 and a.end[1] > a.point[1] + 25


def test_agent_carries_every_figure_that_fits_into_free_room_of_the_side_asked() -> None:
    img, d = _canvas()
    left, right = (2, 55, 72, 105), (84, 55, 154, 105)
    for x1, y1, x2, y2 in (left, right):
        d.rectangle([x1, y1, x2 - 1, y2 - 1], outline=(0, 0, 0), width=2)
    d.ellipse([20, 130, 34, 144], fill=(220, 30, 30))  # a red circle
    d.rectangle([60, 130, 74, 144], fill=(40, 90, 220))  # a blue square
    d.ellipse([100, 160, 114, 174], fill=(40, 90, 220))  # a blue circle
    agent = _agent()
    agent.reset("Drag all circles into the left box, and everything else into the right box.")
    step = agent.decide(_obs(np.asarray(img)))
    a = step.action
    assert a.kind == "drag" and math.dist(a.point, (27.5, 137.5)) < 2  # the first circle
    assert left[0] + 9 < a.end[0] < left[2] - 9 and left[1] + 9 < a.end[1] < left[3] - 9
    img2, d2 = _canvas()  # the red circle is in the left box now
    for x1, y1, x2, y2 in (left, right):
        d2.rectangle([x1, y1, x2 - 1, y2 - 1], outline=(0, 0, 0), width=2)
    x, y = int(a.end[0]), int(a.end[1])
    d2.ellipse([x - 7, y - 7, x + 7, y + 7], fill=(220, 30, 30))
    d2.rectangle([60, 130, 74, 144], fill=(40, 90, 220))
    d2.ellipse([100, 160, 114, 174], fill=(40, 90, 220))
    step = agent.decide(_obs(np.asarray(img2)))
    b = step.action
    assert b.kind == "drag" and math.dist(b.point, (107.5, 167.5)) < 2  # the other circle
    assert b.end[0] - a.end[0] >= 14 and left[0] < b.end[0] < left[2]  # beside the first


def test_a_box_taken_for_a_text_field_is_still_a_place_to_drop_into() -> None:
    img, d = _canvas()
    d.rectangle([62, 98, 142, 143], outline=(0, 0, 0), width=2)  # the box ...
    d.ellipse([42, 112, 61, 131], fill=(0, 128, 0))  # ... a circle touching its side
    d.rectangle([44, 53, 60, 69], fill=(0, 0, 0))  # a black square
    agent = _agent()
    agent.reset("Drag all rectangles into the black box.")
    a = agent.decide(_obs(np.asarray(img))).action
    assert a.kind == "drag" and math.dist(a.point, (52.5, 61.5)) < 2
    assert 64 + 8 < a.end[0] < 141 - 8 and 100 + 8 < a.end[1] < 142 - 8


def test_grammar_of_turning_a_thing_until_a_side_faces_the_user() -> None:
    (turn,) = parse_instruction('Move the cube around so that "4" isthe active side facing '
                                'the user.').intents
    assert (turn.op, turn.target, turn.text) == ("turn", "cube", "4")
    assert parse_instruction('Rotate the die until "6" faces you').intents[0].op == "turn"
    assert parse_instruction("Move the slider to 4").intents[0].op == "set"


def test_a_mark_drawn_upside_down_reads_as_itself() -> None:
    from lavr.episodes.gui import shapes

    if shapes._glyph_templates() is None:
        pytest.skip("no system font to draw glyphs with")
    from PIL import ImageFont

    from lavr.episodes.gui.appearance import glyph_fonts

    img = Image.new("RGB", (60, 60), (255, 255, 255))
    ImageDraw.Draw(img).text((15, 5), "4", fill=(220, 30, 30),
                             font=ImageFont.truetype(glyph_fonts()[0], 40))
    turned = np.asarray(img.rotate(180, fillcolor=(255, 255, 255)))
    ys, xs = np.nonzero(np.abs(turned.astype(int) - 255).max(axis=2) > 60)
    box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    assert shapes.identify_turned_glyph(turned, box, chars="0123456789")[0] == "4"


def test_agent_turns_until_the_wanted_mark_is_the_odd_coloured_one() -> None:
    from lavr.episodes.gui import shapes

    if shapes._glyph_templates() is None:
        pytest.skip("no system font to draw glyphs with")
    from PIL import ImageFont

    from lavr.episodes.gui.appearance import glyph_fonts

    font = ImageFont.truetype(glyph_fonts()[0], 30)
    img, d = _canvas()
    d.text((65, 90), "4", fill=(230, 20, 20), font=font)  # the active side's mark
    d.text((30, 90), "2", fill=(30, 150, 220), font=font)
    d.text((100, 90), "5", fill=(30, 150, 220), font=font)
    image = np.asarray(img)
    done = _agent()
    done.reset('Move the cube around so that "4" is the active side facing the user.')
    assert done.decide(_obs(image)).action.kind == "wait"  # looks twice first
    assert done.decide(_obs(image)).action.kind == "done"
    turn = _agent()
    turn.reset('Rotate the cube until "2" is the active side facing you.')
    turn.decide(_obs(image))
    a = turn.decide(_obs(image)).action
    assert a.kind == "drag" and a.amount > 0  # a paced drag pulling the 2 toward the 4
    assert a.end[0] > a.point[0]


def test_drag_action_can_be_paced() -> None:
    a = Action.drag(1, 2, 3, 4, pace_ms=60)
    assert a.amount == 60 and Action.drag(1, 2, 3, 4).amount == 0


# -- shapes drawn by hand ---------------------------------------------------------------------
@pytest.mark.parametrize(("text", "geometry_", "figure"), [
    ("Draw a circle around the dot, then press submit.", "trace-circle", ("", "", "circle")),
    ("Draw a small square.", "trace-rectangle", None),
    ("Draw a triangle on the red circle", "trace-triangle", ("", "red", "circle")),
    ("Draw a line through the dot", "horizontal", ("", "", "circle")),
])
def test_grammar_of_shapes_drawn_by_hand(text: str, geometry_: str, figure) -> None:
    first = parse_instruction(text).intents[0]
    assert (first.op, first.geometry, first.figure) == ("draw", geometry_, figure)


def test_agent_draws_a_closed_circle_around_the_dot_inside_the_frame() -> None:
    img, d = _canvas()
    d.rectangle([5, 55, 155, 165], outline=(0, 0, 0))
    d.ellipse([76, 106, 84, 114], fill=(128, 0, 128))  # a dot at (80, 110)
    agent = _agent()
    agent.reset("Draw a circle around the dot.")
    step = agent.decide(_obs(np.asarray(img)))
    a = step.action
    assert a.kind == "drag" and len(a.via) >= 12 and math.dist(a.point, a.end) < 0.01  # closed
    path = [a.point, *a.via]
    radii = [math.dist(p, (80.5, 110.5)) for p in path]
    assert max(radii) - min(radii) < 1.0 and 8 < radii[0] < 55  # round, around the dot
    assert all(5 < p[0] < 155 and 55 < p[1] < 165 for p in path)  # inside the frame


def test_agent_draws_the_circle_around_the_marked_point_not_the_frames_middle() -> None:
    img, d = _canvas()
    d.rectangle([5, 55, 155, 165], outline=(0, 0, 0))
    d.ellipse([36, 76, 44, 84], fill=(0, 128, 0))  # a green dot at (40, 80), off the middle
    agent = _agent()
    agent.reset("Draw a circle centered around the marked point by dragging the mouse. "
                "Press submit when done.")
    a = agent.decide(_obs(np.asarray(img))).action
    assert a.kind == "drag" and len(a.via) >= 12
    radii = [math.dist(p, (40.5, 80.5)) for p in (a.point, *a.via)]
    assert max(radii) - min(radii) < 1.5 and radii[0] >= 10  # round, around the dot


def test_agent_tries_the_next_corner_point_when_the_page_drew_nothing() -> None:
    img, d = _canvas()
    ends = ((30, 80), (110, 140))
    d.line(list(ends), fill=(0, 0, 0))
    for p in ends:
        d.ellipse([p[0] - 3, p[1] - 3, p[0] + 3, p[1] + 3], fill=(0, 0, 0))
    image = np.asarray(img)
    agent = _agent()
    agent.reset("Add a third point to create a right angle, then press submit.")
    clicked = []
    for _ in range(3):  # the page answers no click (the points miss its canvas)
        step = agent.decide(_obs(image))
        assert step.action.kind == "click"
        clicked.append(step.action.point)
    assert len({(round(x), round(y)) for x, y in clicked}) == 3  # a new point each time
    for q in clicked:  # each square to the segment at one of its ends
        e = min(ends, key=lambda e: math.dist(e, q))
        o = ends[1] if e == ends[0] else ends[0]
        u, v = (o[0] - e[0], o[1] - e[1]), (q[0] - e[0], q[1] - e[1])
        assert abs(u[0] * v[0] + u[1] * v[1]) / (math.hypot(*u) * math.hypot(*v)) < 0.1


def test_a_segments_ends_are_the_middles_of_the_dots_drawn_there() -> None:
    img, d = _canvas()
    ends = ((30, 80), (110, 140))
    d.line(list(ends), fill=(0, 0, 0))
    d.ellipse([26, 76, 34, 84], fill=(0, 0, 0))  # a dot at the first end only
    image = np.asarray(img)
    seg = geometry.longest_segment(image, top=50)
    assert seg is not None
    a, b = sorted(geometry.marked_ends(seg, image, top=50))
    assert math.dist(a, (30, 80)) < 1.0  # (the stroke found runs on into the dot's rim)
    assert math.dist(b, (110, 140)) < 1.5  # no dot: the stroke's own end


def test_a_negative_slider_value_the_recogniser_reads_without_its_minus() -> None:
    """A MiniWoB++ slider showing ``-3`` as Chromium drew it: when OCR reads the minus as a
    digit (``33``), the label read glyph by glyph (a flat bar is a minus) wins."""
    from pathlib import Path

    image = np.asarray(Image.open(Path(__file__).parent / "data" / "slider_negative_value.png")
                       .convert("RGB"))
    agent = _agent("33")
    parse = agent.perceive(image)
    top, exclude = agent._drawing_area(parse)
    (slider,) = sliders.find_sliders(image, top=top, exclude=exclude)
    assert agent._slider_value(parse, slider, top, None) == -3.0
    assert _agent("3")._slider_value(parse, slider, top, None) == -3.0  # a lone minus dropped


def test_an_empty_text_field_is_no_rectangle_figure() -> None:
    """A white box in a thin frame that perception takes for a text field is not counted
    among the figures drawn on the page (the blocks to add up); the blocks are."""
    from lavr.episodes.gui.perception import find_elements
    from lavr.episodes.gui.shapes import figures_on_screen

    img, d = _canvas()
    d.rectangle([45, 87, 56, 98], fill=(0, 0, 0))
    d.rectangle([103, 87, 114, 98], fill=(0, 0, 0))
    d.rectangle([66, 133, 108, 157], fill=(255, 255, 255), outline=(120, 120, 120))  # a field
    parse = find_elements(np.asarray(img))
    assert any(e.kind == "input" for e in parse.elements)
    figs = figures_on_screen(parse)
    assert [f.shape for f in figs] == ["rectangle", "rectangle"]
    assert all(f.box[1] < 100 for f in figs)
