"""The page's scripts and styles, put in Solara's asset cache from npm where no CDN can be reached.

Solara's page loads a few npm packages (its Vuetify app, requirejs, font-awesome) through
its own CDN proxy, which keeps what it fetched in ``settings.assets.proxy_cache_dir``. On a
machine that reaches the npm registry but not the CDN, :func:`ensure` fills that cache with
``npm pack`` once, so the page works offline from then on.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

#: An exact npm spec in a CDN url of Solara's page template: ``{{cdn}}/@scope/name@1.2.3/``.
CDN_SPEC = re.compile(r"\{\{cdn\}\}/((?:@[\w.-]+/)?[\w.-]+@\d+\.\d+\.\d+)/")


def cache_dir() -> Path:
    """Solara's asset cache (its CDN proxy serves what is there)."""
    from solara.server import settings

    return Path(settings.assets.proxy_cache_dir)


def packages() -> list[str]:
    """The npm packages (``name@version``) the page loads, for the installed Vue (2 or 3)."""
    import ipyvue
    import solara.server
    from solara.server import settings

    template = (Path(solara.server.__file__).parent / "templates" / "solara.html.j2").read_text()
    vue3 = ipyvue.__version__.startswith("3")
    specs = [
        s for s in dict.fromkeys(CDN_SPEC.findall(template)) if ("vuetify3-app" in s) == vue3 or "vuetify" not in s
    ]
    if settings.assets.fontawesome_enabled:
        specs.append(settings.assets.fontawesome_path.strip("/").split("/")[0])
    return specs


def missing(folder: Path | None = None) -> list[str]:
    """The page's packages not in the cache yet."""
    folder = folder or cache_dir()
    return [spec for spec in packages() if not (folder / spec / "package.json").exists()]


def install(spec: str, folder: Path) -> None:
    """Put one npm package's files under ``folder/<name@version>/``, as the CDN serves them.

    Raises:
        OSError: npm is missing or failed.
    """
    npm = shutil.which("npm")
    if npm is None:
        raise OSError("npm is not installed")
    with tempfile.TemporaryDirectory() as work:
        done = subprocess.run(
            [npm, "pack", spec, "--pack-destination", work, "--silent"], capture_output=True, text=True, timeout=300
        )
        tarballs = list(Path(work).glob("*.tgz"))
        if done.returncode != 0 or not tarballs:
            raise OSError(f"npm pack {spec} failed: {done.stderr.strip()[-500:]}")
        target = folder / spec
        unpacked = Path(work) / "unpacked"
        with tarfile.open(tarballs[0]) as archive:
            archive.extractall(unpacked, filter="data")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        shutil.move(str(unpacked / "package"), str(target))


def ensure(folder: Path | None = None) -> list[str]:
    """Install the page's missing packages into the cache; return the messages of those that failed."""
    folder = folder or cache_dir()
    failures = []
    for spec in missing(folder):
        try:
            install(spec, folder)
        except (OSError, subprocess.SubprocessError) as exc:
            failures.append(f"{spec}: {exc}")
    return failures
