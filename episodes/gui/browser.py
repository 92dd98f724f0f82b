"""Headless Chromium environments: MiniWoB++ tasks and any local page.

Both hand the agent only :class:`~lavr.episodes.loop.Observation` objects
(screenshot + instruction). :class:`MiniWoBEnv` wraps the ``miniwob`` gymnasium
package; the page's DOM, which MiniWoB++ puts in every observation, is kept out
of it (the number of DOM elements goes to ``info`` for logs only).
:class:`PageEnv` opens a ``file://`` or loopback URL (others only when the
caller opts in) and acts with W3C pointer and key actions at pixel positions.

Chromium is Debian's ``/usr/bin/chromium`` with ``/usr/bin/chromedriver``
unless ``MINIWOB_CHROME_BINARY`` / ``MINIWOB_CHROMEDRIVER`` say otherwise;
nothing is downloaded. Selenium, miniwob and gymnasium are imported lazily.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import os
import shutil
import time
import urllib.parse
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from lavr.core_model.errors import InputError, LavrError
from lavr.episodes.loop import Action, Observation, Transition

logger = logging.getLogger(__name__)

ENV_CHROME_BINARY = "MINIWOB_CHROME_BINARY"
ENV_CHROMEDRIVER = "MINIWOB_CHROMEDRIVER"
DEFAULT_CHROME_BINARY = "/usr/bin/chromium"
DEFAULT_CHROMEDRIVER = "/usr/bin/chromedriver"
#: Flags for a root, headless, offline Chromium.
CHROMIUM_FLAGS = ("--no-sandbox", "--headless", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-extensions",
                  "--disable-default-apps", "--mute-audio", "--hide-scrollbars")
#: MiniWoB++ keys the GUI agent may press (W3C names as the ``miniwob`` package spells them).
KEY_NAMES = ("<Enter>", "<Tab>", "<Backspace>", "<Delete>", "<Escape>", "<Space>", "<ArrowUp>",
             "<ArrowDown>", "<ArrowLeft>", "<ArrowRight>", "<PageUp>", "<PageDown>", "<Home>",
             "<End>")
#: Modifier prefixes of a key chord (``"C-a"``: control + a, ``"C-S-<End>"``), as MiniWoB++
#: spells them: control, shift, alt, meta.
MODIFIERS = ("C-", "S-", "A-", "M-")


class BrowserUnavailableError(LavrError):
    """Chromium, chromedriver or the Python packages for them are missing.

    Attributes:
        what: What is missing.
        hint: How to install it.
    """

    def __init__(self, what: str, hint: str) -> None:
        self.what = what
        self.hint = hint
        super().__init__(f"{what} not available. {hint}")


def chromium_paths() -> tuple[str, str]:
    """``(chromium, chromedriver)`` executables, checked to exist.

    Raises:
        BrowserUnavailableError: One of them is missing.
    """
    binary = os.environ.get(ENV_CHROME_BINARY) or DEFAULT_CHROME_BINARY
    driver = os.environ.get(ENV_CHROMEDRIVER) or DEFAULT_CHROMEDRIVER
    for path, name in ((binary, "chromium"), (driver, "chromedriver")):
        if not (Path(path).is_file() or shutil.which(path)):
            raise BrowserUnavailableError(
                f"{name} ({path})", f"apt-get install chromium chromium-driver, or set "
                                    f"{ENV_CHROME_BINARY} and {ENV_CHROMEDRIVER}.")
    return binary, driver


def chrome_options(binary: str, *, window: tuple[int, int] | None = None,
                   loopback_only: bool = True) -> Any:
    """Selenium ``ChromeOptions`` for a headless, offline Chromium.

    Args:
        binary: The Chromium executable.
        window: ``(width, height)`` of the window, or None for Chromium's default.
        loopback_only: Resolve every host name except localhost to nothing, so a
            page cannot reach the network.
    """
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    if window is not None:
        options.add_argument(f"--window-size={window[0]},{window[1]}")
    if loopback_only:
        options.add_argument("--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost")
    return options


def start_chromium(*, window: tuple[int, int] | None = None, loopback_only: bool = True) -> Any:
    """A Selenium Chrome driver on Debian's Chromium (caller must ``quit()`` it).

    Raises:
        BrowserUnavailableError: selenium, chromium or chromedriver is missing.
    """
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as exc:
        raise BrowserUnavailableError("selenium", "pip install 'lavr[gui]'") from exc
    binary, driver = chromium_paths()
    options = chrome_options(binary, window=window, loopback_only=loopback_only)
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def _pointer_click(driver: Any, x: float, y: float, *, modifier: str = "") -> None:
    """Click at ``(x, y)`` pixels, with ``modifier`` (``"C-"``, ``"S-"`` ...) held when set.

    Raises:
        InputError: An unknown modifier.
    """
    from selenium.webdriver.common.action_chains import ActionChains

    if modifier and modifier not in MODIFIERS:
        raise InputError(f"unknown click modifier {modifier!r}; known: {', '.join(MODIFIERS)}")
    chain = ActionChains(driver, duration=0)
    if modifier:
        chain.w3c_actions.key_action.key_down(_modifier_code(modifier))
    chain.w3c_actions.pointer_action.move_to_location(int(round(x)), int(round(y)))
    chain.w3c_actions.pointer_action.click()
    if modifier:
        chain.w3c_actions.key_action.key_up(_modifier_code(modifier))
    chain.w3c_actions.perform()


#: Fewest pointer moves a drag is cut into between press and release (widgets that follow the
#: pointer see it travel, not jump) ...
#: Longest a ``watch`` action looks at the page, milliseconds.
MAX_WATCH_MS = 3000
DRAG_STEPS = 5
#: ... and the longest move (px): a sortable list reorders by one item per move it sees.
DRAG_STEP_PX = 8.0


def _pointer_drag(driver: Any, x: float, y: float, x2: float, y2: float, *,
                  via: tuple[tuple[float, float], ...] = (), pace_ms: int = 0) -> None:
    """Press at ``(x, y)``, move through the ``via`` points to ``(x2, y2)`` in steps of at
    most :data:`DRAG_STEP_PX` (at least :data:`DRAG_STEPS` over the whole way), each taking
    ``pace_ms`` (capped at 200), release there."""
    from selenium.webdriver.common.action_chains import ActionChains

    chain = ActionChains(driver, duration=min(max(int(pace_ms), 0), 200))
    pointer = chain.w3c_actions.pointer_action
    pointer.move_to_location(int(round(x)), int(round(y)))
    pointer.click_and_hold()
    points = [(x, y), *via, (x2, y2)]
    legs = list(zip(points, points[1:], strict=False))
    whole = sum(math.hypot(b[0] - a[0], b[1] - a[1]) for a, b in legs) or 1.0
    for (ax, ay), (bx, by) in legs:
        length = math.hypot(bx - ax, by - ay)
        steps = max(math.ceil(DRAG_STEPS * length / whole), math.ceil(length / DRAG_STEP_PX), 1)
        for i in range(1, steps + 1):
            t = i / steps
            pointer.move_to_location(int(round(ax + t * (bx - ax))), int(round(ay + t * (by - ay))))
    pointer.release()
    chain.w3c_actions.perform()


def _type_keys(driver: Any, text: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    chain = ActionChains(driver, duration=0)
    for ch in text:
        chain.w3c_actions.key_action.key_down(ch)
        chain.w3c_actions.key_action.key_up(ch)
    chain.perform()


def split_chord(name: str) -> tuple[tuple[str, ...], str]:
    """``("C-", "S-"), "<End>"`` for ``"C-S-<End>"``: the modifier prefixes held and the key.

    Raises:
        InputError: No key after the modifiers.
    """
    mods: list[str] = []
    rest = name
    while len(rest) > 2 and rest[:2] in MODIFIERS:
        mods.append(rest[:2])
        rest = rest[2:]
    if not rest:
        raise InputError(f"key chord {name!r} names no key")
    return tuple(mods), rest


def _modifier_code(prefix: str) -> str:
    from selenium.webdriver.common.keys import Keys

    return {"C-": Keys.CONTROL, "S-": Keys.SHIFT, "A-": Keys.ALT, "M-": Keys.META}[prefix]


def _press_chord(driver: Any, name: str, times: int = 1) -> None:
    """Press ``name`` (a key, or a chord such as ``"C-a"``) ``times`` times with W3C key
    actions: the modifiers go down, the key is struck, the modifiers come up."""
    from selenium.webdriver.common.action_chains import ActionChains

    mods, key = split_chord(name)
    code = _key_code(key)
    chain = ActionChains(driver, duration=0)
    keys = chain.w3c_actions.key_action
    for _ in range(max(times, 1)):
        for m in mods:
            keys.key_down(_modifier_code(m))
        keys.key_down(code)
        keys.key_up(code)
        for m in reversed(mods):
            keys.key_up(_modifier_code(m))
    chain.w3c_actions.perform()


def _key_code(name: str) -> str:
    from selenium.webdriver.common.keys import Keys

    if len(name) == 1:
        return name
    bare = name.strip("<>").upper()
    table = {"ENTER": Keys.ENTER, "TAB": Keys.TAB, "BACKSPACE": Keys.BACKSPACE,
             "DELETE": Keys.DELETE, "ESCAPE": Keys.ESCAPE, "SPACE": Keys.SPACE,
             "ARROWUP": Keys.ARROW_UP, "ARROWDOWN": Keys.ARROW_DOWN, "ARROWLEFT": Keys.ARROW_LEFT,
             "ARROWRIGHT": Keys.ARROW_RIGHT, "PAGEUP": Keys.PAGE_UP, "PAGEDOWN": Keys.PAGE_DOWN,
             "HOME": Keys.HOME, "END": Keys.END}
    if bare not in table:
        raise InputError(f"unknown key {name!r}; known: {', '.join(KEY_NAMES)}")
    return table[bare]


# -- MiniWoB++ -----------------------------------------------------------------
def miniwob_tasks() -> list[str]:
    """Names of the MiniWoB++ tasks the installed ``miniwob`` package ships.

    Raises:
        BrowserUnavailableError: ``miniwob`` is not installed.
    """
    html = _miniwob_html_dir() / "miniwob"
    return sorted(p.stem for p in html.glob("*.html"))


def _miniwob_html_dir() -> Path:
    try:
        import miniwob
    except ImportError as exc:
        raise BrowserUnavailableError("the miniwob package", "pip install 'lavr[gui]'") from exc
    return Path(miniwob.__file__).parent / "html"


def _no_fields(utterance: str) -> list[tuple[str, str]]:
    """MiniWoB++ field parser for a task that has none: no fields (lavr never reads them)."""
    return []


class MiniWoBEnv:
    """One MiniWoB++ task in headless Chromium, seen as screenshots.

    Observations are the 160x210 task screenshot and, only with
    ``give_instruction=True``, the task's utterance as text; by default the
    instruction is ``""`` and the agent reads it from the screenshot's banner
    (pixels only). The utterance stays in :attr:`utterance` for scoring and
    logs. ``info`` of each transition carries ``success`` (raw reward > 0),
    ``raw_reward`` and ``dom_elements`` (a count, for logs) — none of it is
    given to the policy.

    Args:
        task: MiniWoB++ task name, e.g. ``"click-button"``.
        wait_ms: Pause after each action (lets animations run), milliseconds.
        give_instruction: Hand the utterance to the agent as text too.

    Raises:
        InputError: Unknown task.
        BrowserUnavailableError: miniwob, selenium, chromium or chromedriver missing.
    """

    def __init__(self, task: str, *, wait_ms: float = 0.0, give_instruction: bool = False) -> None:
        known = miniwob_tasks()
        if task not in known:
            raise InputError(f"unknown MiniWoB++ task {task!r} (the miniwob package has "
                             f"{len(known)} tasks, e.g. {', '.join(known[:5])})")
        self.task = task
        self.wait_ms = wait_ms
        self.give_instruction = give_instruction
        self.utterance = ""
        self._env = self._make_env()

    def _make_env(self) -> Any:
        from miniwob.environment import MiniWoBEnvironment
        from miniwob.selenium_instance import SeleniumInstance

        binary, driver = chromium_paths()

        class _Instance(SeleniumInstance):  # type: ignore[misc]
            def create_driver(self) -> None:
                from selenium import webdriver
                from selenium.webdriver.chrome.service import Service
                from selenium.webdriver.common.by import By
                from selenium.webdriver.support import expected_conditions as ec
                from selenium.webdriver.support.wait import WebDriverWait

                options = chrome_options(binary)
                self.driver = webdriver.Chrome(service=Service(executable_path=driver),
                                               options=options)
                self.driver.implicitly_wait(5)
                self.driver.get(self.url)
                WebDriverWait(self.driver, 5).until(
                    ec.element_to_be_clickable((By.ID, self.SYNC_SCREEN_ID)))
                self.inner_width, self.inner_height = self.driver.execute_script(
                    "return [window.innerWidth, window.innerHeight];")

        class _Env(MiniWoBEnvironment):  # type: ignore[misc]
            def _hard_reset_instance(self) -> None:
                if getattr(self, "instance", None):
                    self.instance.close()
                self.instance = _Instance(index=0, **self.instance_kwargs)
                self.instance.start()
                self.instance.wait()

        from miniwob.fields import FIELD_EXTRACTORS

        # lavr reads the instruction from pixels and never uses MiniWoB++'s parsed fields;
        # some tasks ship without a field parser, and the package then refuses to start them
        extra = {} if self.task in FIELD_EXTRACTORS else {"field_extractor": _no_fields}
        start = time.perf_counter()
        env = _Env(subdomain=self.task, wait_ms=self.wait_ms, **extra)
        logger.info("MiniWoB++ %s: Chromium started in %.1f s", self.task, time.perf_counter() - start)
        return env

    def _observation(self, obs: dict[str, Any], frames: tuple[np.ndarray, ...] = ()) -> Observation:
        return Observation(image=np.asarray(obs["screenshot"], dtype=np.uint8),
                           instruction=self.utterance if self.give_instruction else "",
                           frames=frames)

    def _watch(self, ms: int) -> tuple[np.ndarray, ...]:
        """Screenshots of the task, as fast as the browser gives them, for ``ms`` ms."""
        from miniwob.screenshot import get_screenshot

        inst = self._env.unwrapped.instance
        frames = []
        end = time.perf_counter() + min(ms, MAX_WATCH_MS) / 1000.0
        while time.perf_counter() < end:
            img = get_screenshot(inst.driver, true_width=inst.inner_width,
                                 true_height=inst.inner_height, crop_width=inst.task_width,
                                 crop_height=inst.task_height)
            frames.append(np.asarray(img.convert("RGB"), dtype=np.uint8))
        return tuple(frames)

    def reset(self, *, seed: int | None = None) -> Observation:
        """Start an episode with ``seed`` (MiniWoB++ seeds its page's random generator)."""
        obs, _ = self._env.reset(seed=seed)
        self.utterance = str(obs["utterance"])
        return self._observation(obs)

    def step(self, action: Action) -> Transition:
        """Send one action (``wait`` sends MiniWoB++'s no-op)."""
        from miniwob.action import ActionTypes

        env = self._env.unwrapped
        frames: tuple[np.ndarray, ...] = ()
        if action.kind == "click" and action.key:
            self._modifier_click(action)
            a = env.create_action(ActionTypes.NONE)
        elif action.kind == "drag":
            if action.point is None or action.end is None:
                raise InputError("a drag needs a start and an end point")
            # (MiniWoB++'s own mouse-down / mouse-up actions would take two steps and
            # jump; one pointer chain moves in steps, then a no-op step reads the result)
            _pointer_drag(env.instance.driver, action.x or 0.0, action.y or 0.0,
                          action.x2 or 0.0, action.y2 or 0.0, via=action.via,
                          pace_ms=action.amount)
            a = env.create_action(ActionTypes.NONE)
        elif action.kind == "key" and split_chord(action.key)[0]:
            # a chord (control + c ...): W3C key actions, then a no-op step reads the result
            _press_chord(env.instance.driver, action.key, action.amount)
            a = env.create_action(ActionTypes.NONE)
        elif action.kind == "key" and action.amount > 1:
            # one key pressed n times: n key strokes in one action
            a = env.create_action(ActionTypes.TYPE_TEXT, text=_key_code(action.key) * action.amount)
        elif action.kind == "click":
            a = env.create_action(ActionTypes.CLICK_COORDS,
                                  coords=np.array([action.x, action.y], dtype=np.float32))
        elif action.kind == "move":
            a = env.create_action(ActionTypes.MOVE_COORDS,
                                  coords=np.array([action.x, action.y], dtype=np.float32))
        elif action.kind == "type":
            a = env.create_action(ActionTypes.TYPE_TEXT, text=action.text)
        elif action.kind == "key":
            keys = list(env.action_space_config.allowed_keys)
            if action.key not in keys:
                raise InputError(f"key {action.key!r} is not allowed by MiniWoB++")
            a = env.create_action(ActionTypes.PRESS_KEY, key=keys.index(action.key))
        elif action.kind == "scroll":
            kind = ActionTypes.SCROLL_DOWN_COORDS if action.amount > 0 else ActionTypes.SCROLL_UP_COORDS
            # the wheel moves by the action's amount (MiniWoB++ reads it from its config per step)
            env.action_space_config.scroll_amount = abs(int(action.amount)) or 50
            a = env.create_action(kind, coords=np.array([action.x, action.y], dtype=np.float32))
        elif action.kind == "wait":
            if action.amount > 0:  # a timed wait (what a hover opens appears after a delay)
                time.sleep(min(action.amount, 2000) / 1000.0)
            a = env.create_action(ActionTypes.NONE)
        elif action.kind == "watch":  # look for a while: every screen seen is kept
            frames = self._watch(action.amount)
            a = env.create_action(ActionTypes.NONE)
        else:
            raise InputError(f"MiniWoB++ cannot do a {action.kind!r} action")
        obs, reward, terminated, truncated, info = self._env.step(a)
        if action.kind in ("type", "move") and action.amount > 0 and not (terminated or truncated):
            # a pause after typing, then a fresh screenshot (what the typing made pop up; a
            # pointer resting where it was moved)
            time.sleep(min(action.amount, 2000) / 1000.0)
            obs, more, terminated, truncated, info = self._env.step(
                env.create_action(ActionTypes.NONE))
            reward = float(reward) + float(more)
        done = bool(terminated or truncated)
        raw = float(info.get("raw_reward", reward) or 0.0)
        book = {"success": done and raw > 0, "raw_reward": raw,
                "reason": info.get("reason"), "elapsed": info.get("elapsed"),
                "dom_elements": len(obs.get("dom_elements", ())) if not done else 0}
        return Transition(self._observation(obs, frames), float(reward), done, book)

    def _modifier_click(self, action: Action) -> None:
        """A click at a pixel point with a modifier key held (``C-`` control, ``S-`` shift)."""
        _pointer_click(self._env.unwrapped.instance.driver, action.x or 0.0, action.y or 0.0,
                       modifier=action.key)

    def close(self) -> None:
        """Quit Chromium."""
        env, self._env = self._env, None
        if env is not None:
            env.close()

    def __enter__(self) -> MiniWoBEnv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- any local page ------------------------------------------------------------
def check_url(target: str, *, allow_remote: bool = False) -> str:
    """Turn a file path or URL into a URL the page environment may open.

    Args:
        target: A path to a local file, or a ``file://``/``http(s)://`` URL.
        allow_remote: Accept non-loopback ``http(s)`` hosts.

    Returns:
        The URL.

    Raises:
        InputError: Missing file, unsupported scheme, or a remote host without
            ``allow_remote``.
    """
    parsed = urllib.parse.urlparse(target)
    if parsed.scheme in ("", "file") or (len(parsed.scheme) == 1 and os.name == "nt"):
        path = Path(urllib.parse.unquote(parsed.path) if parsed.scheme == "file" else target)
        path = path.expanduser().resolve()
        if not path.is_file():
            raise InputError(f"{target}: no such file")
        return path.as_uri()
    if parsed.scheme not in ("http", "https"):
        raise InputError(f"{target}: only file paths, file:// and http(s):// URLs are supported")
    host = (parsed.hostname or "").lower()
    loopback = host == "localhost" or host.endswith(".localhost")
    if not loopback:
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
    if not loopback and not allow_remote:
        raise InputError(f"{target}: only local files and loopback URLs are opened "
                         f"(pass --allow-remote to open {host or 'this host'})")
    return target


class PageEnv:
    """A web page in headless Chromium, seen as viewport screenshots.

    There is no reward: transitions report ``done=False`` and the episode ends
    when the agent says ``done`` or the step budget runs out.

    Args:
        url: What to open (use :func:`check_url` first).
        instruction: The instruction handed to the agent with every observation.
        window: ``(width, height)`` of the browser window in pixels.
        allow_remote: Let the browser resolve non-local host names.
        settle_s: Pause after each action before the screenshot, seconds.
    """

    def __init__(self, url: str, instruction: str, *, window: tuple[int, int] = (800, 600),
                 allow_remote: bool = False, settle_s: float = 0.15) -> None:
        self.url = url
        self.instruction = instruction
        self.window = window
        self.allow_remote = allow_remote
        self.settle_s = settle_s
        self._driver: Any = None

    def _screenshot(self) -> Observation:
        png = self._driver.get_screenshot_as_png()
        img = Image.open(BytesIO(png)).convert("RGB")
        w, h = self._driver.execute_script("return [window.innerWidth, window.innerHeight];")
        if img.size != (w, h):  # device pixel ratio != 1
            img = img.resize((int(w), int(h)), Image.LANCZOS)
        return Observation(np.asarray(img, dtype=np.uint8), self.instruction)

    def reset(self, *, seed: int | None = None) -> Observation:
        """Open the page (``seed`` is unused: pages are deterministic here)."""
        if self._driver is None:
            self._driver = start_chromium(window=self.window, loopback_only=not self.allow_remote)
        self._driver.get(self.url)
        time.sleep(self.settle_s)
        return self._screenshot()

    def step(self, action: Action) -> Transition:
        """Act at pixel positions with W3C input actions, then take a screenshot."""
        d = self._driver
        if action.kind == "click" and action.point is not None:
            _pointer_click(d, action.x or 0.0, action.y or 0.0, modifier=action.key)
        elif action.kind == "drag" and action.point is not None and action.end is not None:
            _pointer_drag(d, action.x or 0.0, action.y or 0.0, action.x2 or 0.0, action.y2 or 0.0,
                          via=action.via, pace_ms=action.amount)
        elif action.kind == "type":
            _type_keys(d, action.text)
            if action.amount > 0:  # a pause after typing (what it makes pop up)
                time.sleep(min(action.amount, 2000) / 1000.0)
        elif action.kind == "key":
            _press_chord(d, action.key, action.amount)
        elif action.kind == "move" and action.point is not None:
            from selenium.webdriver.common.action_chains import ActionChains

            chain = ActionChains(d, duration=0)
            chain.w3c_actions.pointer_action.move_to_location(int(round(action.x or 0)),
                                                              int(round(action.y or 0)))
            chain.w3c_actions.perform()
            if action.amount > 0:  # the pointer rests there
                time.sleep(min(action.amount, 2000) / 1000.0)
        elif action.kind == "scroll" and action.point is not None:
            from selenium.webdriver.common.action_chains import ActionChains

            chain = ActionChains(d)
            chain.w3c_actions.wheel_action.scroll(x=int(action.x or 0), y=int(action.y or 0),
                                                  delta_y=int(action.amount), duration=100)
            chain.w3c_actions.perform()
        elif action.kind == "wait" and action.amount > 0:
            time.sleep(min(action.amount, 2000) / 1000.0)
        elif action.kind == "watch":  # look for a while: every screen seen is kept
            frames = []
            end = time.perf_counter() + min(action.amount, MAX_WATCH_MS) / 1000.0
            while time.perf_counter() < end:
                frames.append(self._screenshot().image)
            seen = self._screenshot()
            return Transition(Observation(seen.image, seen.instruction, tuple(frames)), 0.0, False,
                              {"url": d.current_url})
        elif action.kind != "wait":
            raise InputError(f"a page cannot do a {action.kind!r} action")
        time.sleep(self.settle_s)
        return Transition(self._screenshot(), 0.0, False, {"url": d.current_url})

    def close(self) -> None:
        """Quit Chromium."""
        driver, self._driver = self._driver, None
        if driver is not None:
            driver.quit()

    def __enter__(self) -> PageEnv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
