"""The built wheel ships the catalog data files, and the catalog loads from the wheel alone."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from wattlens.catalog._load import DATA_FILES

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Build from a copy so the shared checkout gets no build/ or egg-info churn.
    root = tmp_path_factory.mktemp("wheel")
    proj = root / "proj"
    shutil.copytree(
        REPO / "src",
        proj / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    shutil.copy(REPO / "pyproject.toml", proj)
    readme = REPO / "README.md"
    if readme.exists():
        shutil.copy(readme, proj)
    else:
        (proj / "README.md").write_text("# wattlens\n")
    out = root / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(proj)],
        check=True,
        capture_output=True,
        timeout=240,
    )
    (whl,) = out.glob("wattlens-*.whl")
    return whl


@pytest.mark.slow
def test_wheel_contains_catalog_files(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in (*DATA_FILES, "README.md"):
        assert f"wattlens/catalog/{f}" in names


@pytest.mark.slow
def test_catalog_loads_from_the_unpacked_wheel(wheel: Path, tmp_path: Path) -> None:
    zipfile.ZipFile(wheel).extractall(tmp_path)
    # -S: no site-packages, so the editable install cannot answer; only the wheel is importable.
    script = textwrap.dedent(
        """
        import sys
        sys.path.insert(0, sys.argv[1])
        import wattlens, wattlens.catalog as c
        assert wattlens.__file__.startswith(sys.argv[1]), wattlens.__file__
        assert c.get_gpu("NVIDIA H100 80GB HBM3").tdp_watts == 700
        assert c.get_model("meta-llama/Llama-3.1-70B-Instruct").layers == 80
        assert c.get_region("CAMX").code == "CAMX" and c.default_rules()
        assert c.constant("min_tokens_per_s_for_ratio").value == 5.0
        assert c.get_frontier("nrp-2026").gpu_count == 24
        assert c.paper_params("oneoverw2026")["h100_manual_profile"]["x0"] == 4.2
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-S", "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
