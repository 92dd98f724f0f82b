"""Install-mode tests: the wheel, a plain (non-editable) install, the editable install.

The repository root holds ``core_model/ tools/ planners/ agents/ episodes/ apps/``; the
``package-dir`` mapping in pyproject.toml installs them as ``lavr.core_model``
... ``lavr.apps``. These tests check that the mapping really produces that
layout outside the repository, so nothing works only because the tests run
from the repo root.
"""

from __future__ import annotations

import configparser
import fnmatch
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.subproc import python_outside

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("core_model", "tools", "planners", "agents", "episodes", "apps")
# Files at the repo root that a build may need besides the layer folders.
BUILD_FILES = ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in", "setup.py", "setup.cfg")
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")


def source_files(tree: Path, layer: str) -> list[Path]:
    """Every file in a layer folder of ``tree``, relative to the folder, caches excluded."""
    base = tree / layer
    return sorted(
        p.relative_to(base)
        for p in base.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")
    )


def run(cmd: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300):
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert proc.returncode == 0, (
        f"{' '.join(cmd)} failed ({proc.returncode})\n"
        f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-4000:]}"
    )
    return proc


@pytest.fixture(scope="module")
def build_src(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the files the build reads.

    The contents checks compare the wheel with this copy, not with the live
    checkout, so a file someone adds while the tests run cannot look "missing".
    """
    src = tmp_path_factory.mktemp("wheel-src")
    for name in BUILD_FILES:
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, src / name)
    for layer in LAYERS:
        shutil.copytree(ROOT / layer, src / layer, ignore=IGNORE)
    return src


@pytest.fixture(scope="module")
def wheel(build_src: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build a wheel from a copy of the source, so the repo gets no build/ or dist/.

    With the ``build`` package this goes source → sdist → wheel, so it also
    checks that the sdist carries everything the wheel needs.
    """
    src, out = build_src, tmp_path_factory.mktemp("dist")
    if importlib.util.find_spec("build") is not None:
        # -x: the build backend (setuptools) is installed; `wheel` is not needed by it.
        cmd = [sys.executable, "-m", "build", "--no-isolation", "-x", "--outdir", str(out), "."]
    else:
        cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
        cmd += ["--wheel-dir", str(out), "."]
    run(cmd, cwd=src)
    wheels = list(out.glob("lavr-*.whl"))
    assert len(wheels) == 1, f"expected one lavr wheel in {out}, got {wheels}"
    return wheels[0]


@pytest.fixture(scope="module")
def wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


@pytest.fixture(scope="module")
def wheel_target(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel installed with ``pip install --no-deps --target``."""
    target = tmp_path_factory.mktemp("target")
    run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-compile", "--quiet",
         "--disable-pip-version-check", "--target", str(target), str(wheel)],
        cwd=target,
    )  # fmt: skip
    return target


# --------------------------------------------------------------------------- (a) wheel contents


@pytest.mark.parametrize(
    "name",
    [
        "lavr/core_model/images.py",
        "lavr/tools/detections.py",
        "lavr/agents/__init__.py",
        "lavr/apps/__init__.py",
    ],
)
def test_wheel_has_key_modules(wheel_names: set[str], name: str) -> None:
    assert name in wheel_names


def test_wheel_has_every_source_module(build_src: Path, wheel_names: set[str]) -> None:
    # Catches a sub-package (e.g. tools/experts/) that `packages` in pyproject
    # does not list: setuptools would silently leave it out.
    missing = [
        f"lavr/{layer}/{rel.as_posix()}"
        for layer in LAYERS
        for rel in source_files(build_src, layer)
        if rel.suffix == ".py" and f"lavr/{layer}/{rel.as_posix()}" not in wheel_names
    ]
    assert not missing, (
        f"source modules missing from the wheel: {missing}. A sub-package must be listed in "
        "[tool.setuptools] packages in pyproject.toml (e.g. 'lavr.agents.verify') and have an "
        "__init__.py; the editable install finds it anyway, so only the wheel shows this."
    )


def test_wheel_has_declared_package_data(build_src: Path, wheel_names: set[str]) -> None:
    """Every source file matching a package-data pattern is in the wheel.

    This covers ``tools/weights/*.pt`` (the bundled shapes detector) once it exists.
    """
    pyproject = tomllib.loads((build_src / "pyproject.toml").read_text(encoding="utf-8"))
    patterns: dict[str, list[str]] = pyproject["tool"]["setuptools"].get("package-data", {})
    expected = []
    for package, globs in patterns.items():
        layer = package.removeprefix("lavr.")
        if layer not in LAYERS:
            continue
        for rel in source_files(build_src, layer):
            if any(fnmatch.fnmatch(rel.as_posix(), g) for g in globs):
                expected.append(f"lavr/{layer}/{rel.as_posix()}")
    missing = [name for name in expected if name not in wheel_names]
    assert not missing, f"package data missing from the wheel: {missing}"


def test_wheel_ships_bundled_weights(build_src: Path, wheel_names: set[str]) -> None:
    weights = sorted((build_src / "tools" / "weights").glob("*.pt"))
    if not weights:
        pytest.skip("no tools/weights/*.pt in the source tree yet")
    for w in weights:
        assert f"lavr/tools/weights/{w.name}" in wheel_names


def test_wheel_layout_is_lavr_only(wheel_names: set[str]) -> None:
    tops = {name.split("/", 1)[0] for name in wheel_names}
    stray = {t for t in tops if t != "lavr" and not t.endswith((".dist-info", ".data"))}
    assert not stray, f"wheel installs top-level names other than lavr: {stray}"
    # lavr is a namespace package: the five layers own everything under it.
    assert "lavr/__init__.py" not in wheel_names
    assert not any(n.startswith("lavr/tests/") for n in wheel_names)


def test_wheel_console_script(wheel: Path, wheel_names: set[str]) -> None:
    [ep_file] = [n for n in wheel_names if n.endswith(".dist-info/entry_points.txt")]
    with zipfile.ZipFile(wheel) as zf:
        text = zf.read(ep_file).decode()
    parser = configparser.ConfigParser()
    parser.read_string(text)
    assert parser.get("console_scripts", "lavr").strip() == "lavr.apps.cli:main"


def test_wheel_metadata_extras(wheel: Path, wheel_names: set[str]) -> None:
    [meta] = [n for n in wheel_names if n.endswith(".dist-info/METADATA")]
    with zipfile.ZipFile(wheel) as zf:
        text = zf.read(meta).decode()
    assert "Name: lavr" in text
    for extra in ("detect", "segment", "ocr", "llm", "demo", "all", "dev"):
        assert f"Provides-Extra: {extra}" in text


# --------------------------------------------------------------------------- (b) installed wheel


PROBE = """
import importlib, json, sys
names = sys.argv[1:]
mods = {n: importlib.import_module(n).__file__ for n in names}
editable = [type(f).__name__ for f in sys.meta_path if "editable" in type(f).__module__.lower()
            or "editable" in getattr(f, "__name__", "").lower()]
print(json.dumps({"files": mods, "editable_finders": editable, "path0": sys.path[:2]}))
"""


def test_installed_wheel_imports_from_install_dir(wheel_target: Path, tmp_path: Path) -> None:
    # -S: no site processing, so the venv's editable-install hook (.pth) is not
    # loaded; site-packages goes on PYTHONPATH *after* the install dir only for
    # numpy/pillow/pydantic. -s: no user site. cwd is not the repo.
    site_packages = sysconfig.get_paths()["purelib"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = os.pathsep.join([str(wheel_target), site_packages])
    modules = ["lavr.tools.detections", "lavr.core_model.images", *(f"lavr.{x}" for x in LAYERS)]
    proc = run(
        [sys.executable, "-S", "-s", "-c", PROBE, *modules], cwd=tmp_path, env=env, timeout=120
    )
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    assert info["editable_finders"] == [], "the editable hook leaked into the -S interpreter"
    for name, file in info["files"].items():
        assert Path(file).resolve().is_relative_to(wheel_target.resolve()), (
            f"{name} imported from {file}, not from the installed wheel in {wheel_target}"
        )
        assert not Path(file).resolve().is_relative_to(ROOT), f"{name} came from the repo"


def test_installed_wheel_console_entry_point_loads(wheel_target: Path, tmp_path: Path) -> None:
    if not (ROOT / "apps" / "cli.py").is_file():
        pytest.skip("apps/cli.py does not exist yet")
    site_packages = sysconfig.get_paths()["purelib"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = os.pathsep.join([str(wheel_target), site_packages])
    code = (
        "import lavr.apps.cli as c, sys; assert callable(c.main), 'main is not callable';"
        "print(c.__file__)"
    )
    proc = run([sys.executable, "-S", "-s", "-c", code], cwd=tmp_path, env=env, timeout=120)
    assert Path(proc.stdout.strip()).resolve().is_relative_to(wheel_target.resolve())


# --------------------------------------------------------------------------- (c) editable install


def test_editable_install_resolves_to_repo(tmp_path: Path) -> None:
    code = (
        "import importlib.util, json, sys\n"
        "import lavr.tools\n"
        "names = sys.argv[1:]\n"
        "print(json.dumps({n: importlib.util.find_spec(n).origin for n in names}))\n"
    )
    proc = python_outside(code, *(f"lavr.{x}" for x in LAYERS), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    origins = json.loads(proc.stdout.strip().splitlines()[-1])
    for layer in LAYERS:
        origin = origins[f"lavr.{layer}"]
        assert origin is not None, f"lavr.{layer} not found (is lavr installed with pip -e?)"
        assert Path(origin).resolve() == (ROOT / layer / "__init__.py").resolve(), (
            f"lavr.{layer} resolves to {origin}, not to this repository's {layer}/ "
            "(re-run `make install`)"
        )


def test_editable_install_imports_agents_from_repo(tmp_path: Path) -> None:
    proc = python_outside("import lavr.agents, lavr.tools; print(lavr.agents.__file__)",
                          cwd=tmp_path)
    assert proc.returncode == 0, f"import lavr.agents failed:\n{proc.stderr[-3000:]}"
    path = Path(proc.stdout.strip().splitlines()[-1]).resolve()
    assert path == (ROOT / "agents" / "__init__.py").resolve()


def test_editable_console_script_installed() -> None:
    script = Path(sys.executable).parent / ("lavr.exe" if os.name == "nt" else "lavr")
    assert script.is_file(), f"{script} missing: run `make install` (pip install -e '.[dev]')"
    assert "lavr.apps.cli" in script.read_text(errors="replace")
