"""Packaging: a wheel built from the checkout installs into a fresh virtual environment
and serves the demo from there, templates and all."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest
from webhelpers import BLOG_TITLE

REPO = Path(__file__).resolve().parents[1]
# What a build must not pick up: the dev venv, VCS data, caches and earlier builds.
NOT_SOURCE = shutil.ignore_patterns(
    ".venv", ".git", ".hypothesis", ".pytest_cache", ".ruff_cache", "__pycache__", "build",
    "dist", "*.egg-info", "*.db", "*.db-wal", "*.db-shm", "*.bak", "tests")


def _run(cmd, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(c) for c in cmd], check=False, capture_output=True, text=True,
                            **kwargs)
    assert result.returncode == 0, (
        f"{' '.join(map(str, cmd))} exited {result.returncode}\n"
        f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}")
    return result


def _clean_env(venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV",
                        "PYTHONUSERBASE") and not k.startswith("CXKB_")}
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONNOUSERSITE"] = "1"
    env["HF_HUB_OFFLINE"] = env["TRANSFORMERS_OFFLINE"] = "1"
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 5) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built (no isolation, no deps) from a clean copy of the checkout's sources.

    Building from a copy keeps the checkout untouched and stops a stale ``build/`` there
    from leaking files into the wheel.
    """
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    shutil.copytree(REPO, source, ignore=NOT_SOURCE)
    out = work / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
          "--no-cache-dir", "--disable-pip-version-check", "-q", "-w", out, source])
    (built,) = out.glob("cxkb-*.whl")
    return built


def test_wheel_ships_templates_static_files_and_demo_corpus(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in ("kb/templates/base.html", "kb/templates/documents/thread.html",
                     "kb/templates/documents/list.html", "kb/templates/search/results.html",
                     "kb/templates/static/cxkb.css", "kb/web/__init__.py",
                     "kb/web/security.py", "kb/cli.py", "ingest/demo_corpus/__init__.py"):
        assert required in names, f"{required} missing from {wheel.name}"
    corpus = {Path(n).name for n in names
              if n.startswith("ingest/demo_corpus/") and n.endswith(".txt")}
    expected = {p.name for p in (REPO / "ingest" / "demo_corpus").glob("*.txt")}
    assert expected and corpus == expected
    # the templates are shipped, not left behind in a top-level package
    assert not [n for n in names if n.startswith("templates/")]
    assert not [n for n in names if n.startswith(("tests/", ".venv/"))]
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "cxkb = kb.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_wheel_installs_and_serves_the_demo_from_a_fresh_venv(wheel, tmp_path):
    venv = tmp_path / "venv"
    base_python = getattr(sys, "_base_executable", None) or sys.executable
    _run([base_python, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    env = _clean_env(venv)

    # install the wheel alone (pip from the dev venv, targeting the fresh interpreter)
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps",
          "--no-index", "--disable-pip-version-check", "-q", wheel], env=env)
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site_packages = Path(_run([python, "-c", purelib], env=env).stdout.strip())
    assert site_packages.is_relative_to(venv)
    # the dependencies come from the dev venv's site-packages; a directory named in a
    # .pth file is not scanned for .pth files, so the checkout's editable install stays out
    dev_site = sysconfig.get_paths()["purelib"]
    (site_packages / "deps.pth").write_text(dev_site + "\n", encoding="utf-8")

    probe = _run([python, "-c", (
        "import json, sys, kb, kb.web, ingest.demo_corpus as corpus; "
        "from kb.web import templates_dir; "
        "print(json.dumps({'kb': kb.__file__, 'templates': str(templates_dir()), "
        "'corpus': [str(p) for p in corpus.demo_paths()], 'path': sys.path}))")],
        env=env, cwd=tmp_path)
    where = json.loads(probe.stdout)
    for key in ("kb", "templates"):
        assert Path(where[key]).resolve().is_relative_to(venv.resolve()), where
        assert not Path(where[key]).resolve().is_relative_to(REPO), where
    assert len(where["corpus"]) == 2
    assert all(Path(p).resolve().is_relative_to(venv.resolve()) for p in where["corpus"])
    # ("" on sys.path is the probe's cwd, tmp_path)
    assert not [p for p in where["path"]
                if (tmp_path / p).resolve().is_relative_to(REPO)
                and not (tmp_path / p).resolve().is_relative_to(REPO / ".venv")], where["path"]

    cxkb = venv / "bin" / "cxkb"
    assert cxkb.is_file()
    built = _run([cxkb, "--db", "demo.db", "demo", "--no-serve"], env=env, cwd=tmp_path)
    assert "documents 2 added" in built.stderr and "comments 9 added" in built.stderr
    assert (tmp_path / "demo.db").is_file()
    # a saved web page: the installed package carries its comment rules
    page = REPO / "tests" / "fixtures" / "web" / "pages" / "wp-classic-twentyten.html"
    read = _run([cxkb, "--db", "demo.db", "ingest", str(page)], env=env, cwd=tmp_path)
    assert "comments 13 added" in read.stderr, read.stderr

    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen([str(cxkb), "--db", "demo.db", "serve", "--port", str(port)],
                              cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, (
                f"cxkb serve exited {server.returncode}:\n"
                + (tmp_path / "serve.log").read_text())
            try:
                status, listing = _get(base + "/documents.json", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                assert time.monotonic() < deadline, (
                    "cxkb serve did not answer within 30 s:\n"
                    + (tmp_path / "serve.log").read_text())
                time.sleep(0.2)
        assert status == 200
        documents = {d["title"]: d["id"] for d in json.loads(listing)["rows"]}
        assert BLOG_TITLE in documents

        status, html = _get(f"{base}/documents/{documents[BLOG_TITLE]}")
        assert status == 200
        assert BLOG_TITLE in html
        assert "Kancha" in html
        assert 'class="replies"' in html
        status, css = _get(base + "/static/cxkb.css")
        assert status == 200 and "mark" in css
        status, page = _get(base + "/search/?q=outcome")
        assert status == 200 and "<mark>outcome</mark>" in page
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        log.close()
