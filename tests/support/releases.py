"""Earlier releases of Convene, installed from this repository's history for tests that run
them beside the current one (a rolling upgrade). Each is installed once per machine into
a virtual environment under the user's cache, and reused."""

import fcntl
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]

RELEASES = {"0.1.0": "14e5edcebe9a1e84f9d36b965e568b2f0e785df0"}
"""Each release and its commit (tags `v<version>` name the same commits; CHANGELOG.md)."""


def _cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "convene" / "releases"


def installed(version: str) -> Path:
    """The `convene` program of an earlier release, installed from its commit if need be."""
    commit = RELEASES[version]
    home = _cache() / f"{version}-{commit[:12]}"
    program = home / "venv" / "bin" / "convene"
    done = home / ".installed"
    home.parent.mkdir(parents=True, exist_ok=True)
    with (home.parent / ".lock").open("w") as lock:  # test processes install it once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            source = home / "src"
            source.mkdir(parents=True, exist_ok=True)
            archive = subprocess.run(
                ["git", "-C", str(ROOT), "archive", "--format=tar", commit],
                capture_output=True, check=False,
            )  # fmt: skip
            if archive.returncode != 0:
                raise RuntimeError(
                    f"release {version} ({commit[:12]}) is not in this clone's history: "
                    f"{archive.stderr.decode().strip()} (a shallow clone? fetch the history)"
                )
            subprocess.run(["tar", "-x", "-C", str(source)], input=archive.stdout, check=True)
            subprocess.run([sys.executable, "-m", "venv", str(home / "venv")], check=True)
            subprocess.run(
                [str(home / "venv/bin/pip"), "install", "--quiet", str(source)],
                check=True, capture_output=True,
            )  # fmt: skip
            done.touch()
    return program
