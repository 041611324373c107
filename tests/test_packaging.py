"""The wheel must carry the lexicons and work from any directory."""
from __future__ import annotations

import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
                   check=True, capture_output=True)
    (whl,) = out.glob("tonecheck-*.whl")
    return whl


def test_wheel_contains_lexicons_and_marker(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    lex = sorted(Path(n).name for n in names if n.startswith("tonecheck/lexicons/") and n.endswith(".toml"))
    src = sorted(p.name for p in (ROOT / "lexicons").glob("*.toml"))
    assert lex == src
    assert "tonecheck/lexicons/t2s.tsv" in names
    assert "tonecheck/py.typed" in names
    assert "tonecheck/static/index.html" in names and "tonecheck/batch/runner.py" in names


@pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None, reason="no C compiler here")
def test_wheel_carries_the_compiled_feature_path(wheel):
    """Where a compiler is at hand the optional C path is built into the wheel (it is skipped,
    and the Python path used, where none is)."""
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("tonecheck/_grams.") and n.endswith((".so", ".pyd")) for n in names), names


@pytest.mark.slow
def test_wheel_installs_and_runs_in_a_fresh_venv(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", str(wheel)], check=True, capture_output=True, timeout=600)
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    probe = ("import tonecheck, sys; r = tonecheck.check('你个傻逼，再不还钱试试', counterpart='debtor'); "
             "assert r.findings, r; assert 'site-packages' in tonecheck.__file__, tonecheck.__file__; print('ok')")
    done = subprocess.run([str(py), "-c", probe], cwd=workdir, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr
    cli = subprocess.run([str(env_dir / "bin" / "tonecheck"), "draft", "你个傻逼"], cwd=workdir,
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode == 1 and "建议改写" in cli.stdout, cli.stderr


@pytest.mark.slow
def test_without_a_compiler_the_wheel_is_pure_python_and_works(tmp_path):
    """setup.py's C extensions are optional: with no working C compiler the build skips them
    and tonecheck runs on its Python paths."""
    import os
    import sysconfig

    import shutil as sh

    # a copy of what the build reads, so no earlier build directory can lend it compiled modules
    src = tmp_path / "src"
    src.mkdir()
    for part in ("pyproject.toml", "setup.py", "README.md", "src", "lexicons"):
        (sh.copytree if (ROOT / part).is_dir() else sh.copy2)(
            ROOT / part, src / part, **({"ignore": sh.ignore_patterns("*.so", "*.pyd", "__pycache__")}
                                       if (ROOT / part).is_dir() else {}))
    out = tmp_path / "dist"
    env = {**os.environ, "CC": "/bin/false", "CXX": "/bin/false"}
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)],
                           capture_output=True, text=True, env=env, timeout=600)
    assert build.returncode == 0, build.stderr
    (whl,) = out.glob("tonecheck-*.whl")
    names = zipfile.ZipFile(whl).namelist()
    assert not [n for n in names if n.endswith((".so", ".pyd"))], names
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(whl)],
                   check=True, capture_output=True, timeout=600)
    # -S: no site processing, so no editable install of this checkout can take the import
    probe = ("import tonecheck; from tonecheck import native; assert not any(native.in_use().values()); "
             "assert str(tonecheck.__file__).startswith(%r), tonecheck.__file__; "
             "r = tonecheck.check('你个傻逼，再不还钱试试', counterpart='debtor'); assert r.findings; print('ok')" % str(target))
    deps = sysconfig.get_paths()["purelib"]
    done = subprocess.run([sys.executable, "-S", "-c", probe], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join([str(target), deps])}, cwd=tmp_path)
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr


def test_a_stale_c_module_is_not_used(monkeypatch):
    """A C module from other sources (no or another API number) is ignored: the Python path runs."""
    import types

    from tonecheck import native

    stale = types.ModuleType("tonecheck._stale")
    monkeypatch.setitem(sys.modules, "tonecheck._stale", stale)
    assert native.load("_stale") is None
    stale.API = native.API + 1
    assert native.load("_stale") is None
    stale.API = native.API
    assert native.load("_stale") is stale
    monkeypatch.setenv("TONECHECK_PURE_PYTHON", "1")
    assert native.load("_stale") is None
