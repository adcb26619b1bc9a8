"""A wheel is a complete product: built from the checkout, installed into a fresh virtualenv,
it serves the pages and the browser libraries the job page loads."""

from __future__ import annotations

import site
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from dockyard.web.assets import VENDOR, VENDOR_FILES
from tests.conftest import _free_port

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("dockyard-*.whl")
    return built


def test_the_wheel_carries_the_browser_assets_templates_and_migrations(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in VENDOR_FILES:
        assert f"dockyard/web/static/vendor/{name}" in names
    assert "dockyard/web/templates/job.html" in names
    assert "dockyard/examples/1iep/1iep_receptorH.pdb" in names
    assert any(name.startswith("dockyard/jobs/migrations/versions/0001_") for name in names)


def test_the_installed_wheel_serves_the_3d_viewer(wheel: Path, tmp_path: Path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # The dependencies come from this environment (installing them again takes minutes); the
    # editable checkout is not a site dir there, so only the wheel's own dockyard is importable.
    (purelib,) = (venv / "lib").glob("python3*/site-packages")
    (purelib / "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps"]
    subprocess.run([*pip, str(wheel)], check=True, capture_output=True)
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import dockyard; print(dockyard.__file__)"],
        check=True, capture_output=True, text=True, cwd=tmp_path,
    ).stdout  # fmt: skip
    assert where.startswith(str(purelib)), where

    port = _free_port()
    server = subprocess.Popen(
        [str(venv / "bin" / "dockyard"), "serve", "--port", str(port),
         "--data-dir", str(tmp_path / "data")],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        viewer = httpx.get(f"{url}/static/vendor/3Dmol.es6-min.js")
        assert viewer.status_code == 200
        assert viewer.content == (VENDOR / "3Dmol.es6-min.js").read_bytes()
        assert httpx.get(f"{url}/static/vendor/chart.umd.min.js").status_code == 200
        assert httpx.get(f"{url}/").status_code == 200
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert "Browser assets missing" not in output
