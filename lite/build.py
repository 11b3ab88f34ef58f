"""Build a JupyterLite site of the lessons with the playground preinstalled, from the package registries only.

    python lite/build.py                 # -> build/lite/_output, a static site (serve it with any static server)
    python lite/build.py --out DIR --cache DIR

What it does, and why (facts: the project's JupyterLite notes):

* a separate build environment (``CACHE/build-venv``) with ``jupyterlite-core`` and ``jupyterlite-pyodide-kernel``
  pinned together (plus ``jupyter_server``, without which the contents addon silently leaves the notebooks out);
* the Pyodide runtime from npm's ``pyodide`` package (the version the kernel package pins), placed where the kernel
  addon looks for a local copy (``LITE_DIR/static/pyodide/``), so nothing is loaded from a CDN;
* every wheel the kernel loads at boot (micropip, IPython and its dependencies, jedi, comm) and every wheel the
  playground needs, downloaded from PyPI for Pyodide's platform, listed in a generated ``pyodide-lock.json`` with
  their own sha256 and the dependencies read from each wheel's METADATA (PyPI's builds differ byte-wise from
  Pyodide's, so upstream lock entries cannot be reused);
* the kernel preloads the playground (``loadPyodideOptions.packages``), PyPI fallback is off, and
  ``exposeAppInBrowser`` lets a browser test reach ``window.jupyterapp``.

Downloads are cached in ``CACHE`` (default ``.cache/lite``): a second build needs no network.
"""

from __future__ import annotations

import argparse
import email.parser
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

JUPYTERLITE_VERSION = "0.8.6"
"""jupyterlite-core and jupyterlite-pyodide-kernel, pinned together."""
PYODIDE_VERSION = "314.0.6"
"""The Pyodide runtime that kernel version expects (npm's ``pyodide`` package)."""
PYTHON_VERSION = "3.14"
WHEEL_PLATFORM = "pyemscripten_2026_0_wasm32"
"""The wheel tag of that Pyodide's ABI: compiled wheels (msgspec) must carry it."""

BUILD_TOOLS = ["jupyter_server", "jupyterlab_widgets>=3,<4", "anywidget>=0.9,<0.12"]
"""Also in the build environment: jupyter_server (or the contents addon silently leaves the notebooks out), and the
front-end extensions of ipywidgets and anywidget (JupyterLite ships the federated extensions it finds there)."""
BOOT_PACKAGES = ["micropip==0.11.1", "ipython==9.12.0", "jedi", "comm"]
"""What the Pyodide kernel installs at boot (micropip by ``loadPackage``, the rest through piplite)."""
PROVIDED_BY_THE_KERNEL = {"ipykernel", "pyodide-kernel", "piplite", "widgetsnbextension"}
"""Shipped by jupyterlite-pyodide-kernel itself (its own shims): never downloaded, never depended on in the lock."""
NOT_ON_PYPI_FOR_PYODIDE = {"pyyaml"}
"""Dependencies PyPI has no Pyodide (or pure-Python) wheel of: left out of the site; the playground does without them
(PyYAML: the AsyncAPI view writes its YAML download itself, with `block_yaml`)."""
LESSON_PACKAGES = ["pytest"]
"""What the lessons import beyond the playground (lesson 05 runs pytest in the kernel there): in the lock, loaded by
the kernel when a cell imports it (not at every kernel's boot)."""
PRELOADED = ["micropip", "ipython", "jedi", "comm", "lihil-playground"]
"""Loaded by ``loadPyodide`` before the kernel starts: ``%load_ext lihil_notebook`` works in the first cell."""
ENVIRONMENT = {"sys_platform": "emscripten", "platform_system": "Emscripten", "os_name": "posix",
               "platform_machine": "wasm32", "python_version": PYTHON_VERSION, "python_full_version": "3.14.2",
               "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": ""}
"""How a wheel's dependency markers are read: as Pyodide's interpreter would."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "lite", help="where the site is built")
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "lite", help="downloads kept between builds")
    parser.add_argument("--notebooks", type=Path, default=ROOT / "notebooks")
    args = parser.parse_args(argv)
    started = time.monotonic()
    out, cache = args.out.resolve(), args.cache.resolve()
    cache.mkdir(parents=True, exist_ok=True)
    lite_dir = out / "src"
    if lite_dir.exists():
        shutil.rmtree(lite_dir)
    (lite_dir / "files").mkdir(parents=True)

    jupyter = build_environment(cache)
    pyodide_dir = lite_dir / "static" / "pyodide"
    unpack_pyodide(cache, pyodide_dir)
    ours = build_our_wheel(cache)
    wheels = download_wheels(cache, ours)
    packages = lock_entries(wheels, roots=[*PRELOADED, *LESSON_PACKAGES], fetch=lambda names: download(cache, names))
    for wheel in packages.values():
        shutil.copy2(wheels[wheel["name_key"]], pyodide_dir / wheel["file_name"])
    write_lock(pyodide_dir, packages)
    for notebook in sorted(args.notebooks.glob("*.ipynb")):
        copy_notebook(notebook, lite_dir / "files" / notebook.name)
    write_config(lite_dir)
    site = out / "_output"
    if site.exists():
        shutil.rmtree(site)
    run([str(jupyter), "lite", "build", "--lite-dir", str(lite_dir), "--contents", str(lite_dir / "files"),
         "--output-dir", str(site)], cwd=lite_dir)
    missing = [n.name for n in args.notebooks.glob("*.ipynb") if not (site / "files" / n.name).exists()]
    if missing:
        raise SystemExit(f"lite/build.py: the site lacks the notebooks {missing} (is jupyter_server installed in "
                         f"{cache / 'build-venv'}?)")
    size = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    print(f"==> JupyterLite site in {site}: {len(packages)} wheels preloadable, {size / 1e6:.0f} MB, "
          f"built in {time.monotonic() - started:.0f} s")
    return 0


def run(command: list[str], **kwargs: object) -> None:
    print("$", " ".join(command), flush=True)
    subprocess.run(command, check=True, **kwargs)  # type: ignore[call-overload]


def build_environment(cache: Path) -> Path:
    """The build venv with JupyterLite pinned; returns its ``jupyter`` command."""
    venv = cache / "build-venv"
    tools = [f"jupyterlite-core=={JUPYTERLITE_VERSION}", f"jupyterlite-pyodide-kernel=={JUPYTERLITE_VERSION}",
             *BUILD_TOOLS]
    marker = venv / f".installed-{hashlib.sha256(' '.join(tools).encode()).hexdigest()[:12]}"
    if not marker.exists():
        if venv.exists():
            shutil.rmtree(venv)
        run([sys.executable, "-m", "venv", str(venv)])
        run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *tools])
        marker.touch()
    return venv / "bin" / "jupyter"


def unpack_pyodide(cache: Path, target: Path) -> None:
    """npm's pyodide package (the runtime, no package wheels) into ``target``."""
    tarball = cache / f"pyodide-{PYODIDE_VERSION}.tgz"
    if not tarball.exists():
        run(["npm", "pack", f"pyodide@{PYODIDE_VERSION}", "--pack-destination", str(cache), "--silent"])
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as archive:
        for member in archive.getmembers():
            name = member.name.removeprefix("package/")
            if member.isfile() and "/" not in name and not name.endswith((".map", ".d.ts", ".html")):
                source = archive.extractfile(member)
                assert source is not None
                (target / name).write_bytes(source.read())


def build_our_wheel(cache: Path) -> Path:
    dist = cache / "ours"
    if dist.exists():
        shutil.rmtree(dist)
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(ROOT)])
    (wheel,) = dist.glob("lihil_playground-*.whl")
    return wheel


def download_wheels(cache: Path, ours: Path) -> dict[str, Path]:
    """Every wheel needed, for Pyodide's platform, keyed by canonical name (pip's cache makes a rebuild offline)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [r for r in [*project["dependencies"], *project["optional-dependencies"]["notebook"]]
              if canonical(requirement_name(r)) not in PROVIDED_BY_THE_KERNEL | NOT_ON_PYPI_FOR_PYODIDE]
    wheels_dir = cache / "wheels"
    wheels_dir.mkdir(exist_ok=True)
    stamp = wheels_dir / ".requirements"
    requirements = "\n".join([*BOOT_PACKAGES, *wanted])
    if not (stamp.exists() and stamp.read_text() == requirements):
        download(cache, [*BOOT_PACKAGES, *wanted])
        stamp.write_text(requirements)
    found = {canonical(p.name.split("-")[0]): p for p in wheels_dir.glob("*.whl")}
    found["lihil-playground"] = ours
    return found


def download(cache: Path, requirements: list[str]) -> dict[str, Path]:
    """pip download for Pyodide's platform. pip reads dependency markers as the *build* machine's (linux), so a
    dependency only Pyodide needs (httpx2-jsfetch) is fetched when the lock finds it missing."""
    wheels_dir = cache / "wheels"
    run([sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "--python-version", PYTHON_VERSION,
         "--implementation", "cp", "--abi", "cp314", "--abi", "abi3", "--abi", "none",
         "--platform", WHEEL_PLATFORM, "--platform", "any", "-d", str(wheels_dir), *requirements])
    return {canonical(p.name.split("-")[0]): p for p in wheels_dir.glob("*.whl")}


def lock_entries(wheels: dict[str, Path], roots: list[str],
                 fetch: Callable[[list[str]], dict[str, Path]]) -> dict[str, dict]:
    """Lock entries for ``roots`` and everything they depend on (under Pyodide's markers)."""
    entries: dict[str, dict] = {}
    todo = [canonical(r) for r in roots]
    while todo:
        key = todo.pop()
        if key in entries or key in PROVIDED_BY_THE_KERNEL | NOT_ON_PYPI_FOR_PYODIDE:
            continue
        if key not in wheels:
            wheels.update(fetch([key]))
        if key not in wheels:
            raise SystemExit(f"lite/build.py: no wheel for {key!r} (a dependency under Pyodide's markers); "
                             "add it to BOOT_PACKAGES or the project's dependencies")
        entry = wheel_entry(wheels[key], extras={"notebook"} if key == "lihil-playground" else set())
        entries[key] = entry
        todo.extend(entry["depends"])
    return entries


def wheel_entry(path: Path, extras: set[str]) -> dict:
    from packaging.markers import Marker
    from packaging.requirements import Requirement

    with zipfile.ZipFile(path) as archive:
        metadata_name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = email.parser.Parser().parsestr(archive.read(metadata_name).decode())
        top_levels = sorted({n.split("/")[0].removesuffix(".py") for n in archive.namelist()
                             if not n.split("/")[0].endswith((".dist-info", ".data"))
                             and (n.endswith(".py") or "/" in n)})
    depends = []
    for text in metadata.get_all("Requires-Dist") or []:
        requirement = Requirement(text)
        if requirement.marker is not None and not any(
                Marker(str(requirement.marker)).evaluate({**ENVIRONMENT, "extra": extra}) for extra in extras | {""}):
            continue
        name = canonical(requirement.name)
        if name not in PROVIDED_BY_THE_KERNEL | NOT_ON_PYPI_FOR_PYODIDE and name not in depends:
            depends.append(name)
    return {"name": metadata["Name"], "version": metadata["Version"], "file_name": path.name,
            "install_dir": "site", "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "package_type": "package", "imports": [t for t in top_levels if t.isidentifier()],
            "depends": sorted(depends), "unvendored_tests": False, "shared_library": False,
            "name_key": canonical(metadata["Name"])}


def write_lock(pyodide_dir: Path, entries: dict[str, dict]) -> None:
    """npm's lock keeps its ``info`` (the runtime's own facts); its packages are replaced by ours."""
    lock_path = pyodide_dir / "pyodide-lock.json"
    lock = json.loads(lock_path.read_text())
    lock["packages"] = {key: {k: v for k, v in entry.items() if k != "name_key"} for key, entry in entries.items()}
    lock_path.write_text(json.dumps(lock, indent=1, sort_keys=True))


KERNELSPEC = {"name": "python", "display_name": "Python (Pyodide)", "language": "python"}


def copy_notebook(source: Path, target: Path) -> None:
    """The lesson, opening on the Pyodide kernel (named "python" in JupyterLite) without a "Select Kernel" dialog."""
    notebook = json.loads(source.read_text())
    notebook.setdefault("metadata", {})["kernelspec"] = KERNELSPEC
    target.write_text(json.dumps(notebook, indent=1))


def write_config(lite_dir: Path) -> None:
    config = {"jupyter-lite-schema-version": 0, "jupyter-config-data": {
        "appName": "lihil playground lessons",
        "exposeAppInBrowser": True,
        "litePluginSettings": {"@jupyterlite/pyodide-kernel-extension:kernel": {
            "disablePyPIFallback": True,
            "loadPyodideOptions": {"packages": PRELOADED},
        }},
    }}
    (lite_dir / "jupyter-lite.json").write_text(json.dumps(config, indent=1))


def requirement_name(text: str) -> str:
    for stop in "<>=!~[; ":
        text = text.split(stop)[0]
    return text


def canonical(name: str) -> str:
    return "-".join(name.replace("_", "-").replace(".", "-").lower().split("-")).replace("--", "-")


if __name__ == "__main__":
    os.environ.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    sys.exit(main())
