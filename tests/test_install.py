"""The install itself: requirements.lock against pyproject.toml, and the environment against both.

Nothing here reaches a package index: the lock is checked with `packaging` (the same
requirement and marker logic pip uses) for each platform the lock is made for, and pip's own
resolver is run as a dry run with `--no-index`, so it can only succeed if what is installed
here satisfies pyproject.toml and the lock together.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker, default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

pytestmark = pytest.mark.install

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
PROJECT = "audiofetch"

# The environments the lock is made for (uv --universal from Python 3.11 on): marker values as
# `packaging.markers.default_environment()` gives them on each system.
PLATFORMS = {
    f"{system} / Python {python}": {
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "python_version": python,
        "python_full_version": f"{python}.0",
        "implementation_version": f"{python}.0",
        "sys_platform": sys_platform,
        "platform_system": system,
        "os_name": os_name,
        "platform_machine": machine,
        "platform_release": "",
        "platform_version": "",
    }
    for python in ("3.11", "3.12", "3.13")
    for system, sys_platform, os_name, machine in (
        ("Linux", "linux", "posix", "x86_64"),
        ("Windows", "win32", "nt", "AMD64"),
        ("Darwin", "darwin", "posix", "arm64"),
    )
}


def _lock_entries() -> list[tuple[str, Version, Marker | None]]:
    """The lock's pins as (canonical name, version, marker or None), in file order."""
    entries = []
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if not line or line[0] in "# -":
            continue
        requirement = Requirement(line)
        pins = [spec for spec in requirement.specifier if spec.operator == "=="]
        assert len(pins) == 1 and len(requirement.specifier) == 1, f"not an exact pin: {line!r}"
        entries.append((canonicalize_name(requirement.name), Version(pins[0].version),
                        requirement.marker))
    return entries


def _pins_for(environment: dict[str, str]) -> dict[str, Version]:
    """name -> version of the lock entries whose marker holds in `environment`."""
    pins: dict[str, Version] = {}
    for name, version, marker in _lock_entries():
        if marker is None or marker.evaluate(environment):
            assert name not in pins, f"the lock pins {name} twice for {environment['sys_platform']}"
            pins[name] = version
    return pins


def _project_requirements() -> list[tuple[Requirement, set[str]]]:
    """Every requirement of the project with all its extras, self-references expanded.

    Each comes with the extras it was reached through, for evaluating `extra == ...` markers.
    """
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras: dict[str, list[str]] = project["optional-dependencies"]
    found: list[tuple[Requirement, set[str]]] = [(Requirement(r), set()) for r in
                                                  project["dependencies"]]
    for extra, requirements in extras.items():
        found += [(Requirement(r), {extra}) for r in requirements]
    return found


def test_lock_is_made_by_the_documented_command():
    head = LOCK.read_text(encoding="utf-8").splitlines()[:3]
    assert any("bash .ci/lock" in line for line in head), head
    assert (ROOT / ".ci" / "lock").is_file()


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_lock_satisfies_pyproject(platform):
    """Every package pyproject.toml asks for (app and every extra) is pinned once, in range."""
    environment = PLATFORMS[platform]
    pins = _pins_for(environment)
    assert PROJECT not in pins, "the lock pins the project itself"
    problems = []
    for requirement, via in _project_requirements():
        name = canonicalize_name(requirement.name)
        if name == PROJECT:  # audiofetch[native] inside an extra: its own lines are checked
            continue
        if requirement.marker and not any(
                requirement.marker.evaluate({**environment, "extra": extra})
                for extra in (via or {""})):
            continue
        if name not in pins:
            problems.append(f"{requirement} is not in the lock")
        elif not requirement.specifier.contains(pins[name], prereleases=True):
            problems.append(f"{requirement} but the lock has {name}=={pins[name]}")
    assert not problems, (f"{platform}: requirements.lock no longer matches pyproject.toml "
                          f"(run `bash .ci/lock`): " + "; ".join(problems))


def test_lock_has_each_platforms_own_packages():
    """The lock really is universal: Windows and macOS get their GUI backends' packages."""
    windows = _pins_for(PLATFORMS["Windows / Python 3.11"])
    mac = _pins_for(PLATFORMS["Darwin / Python 3.11"])
    linux = _pins_for(PLATFORMS["Linux / Python 3.11"])
    assert "pythonnet" in windows and "pythonnet" not in linux
    assert "pyobjc-framework-webkit" in mac and "pyobjc-framework-webkit" not in linux
    assert "pyside6-essentials" in linux and "pyside6-essentials" not in windows


def test_this_environment_was_installed_from_the_lock():
    """What the tests run against is what the lock pins (the README's commands install so)."""
    pins = _pins_for(dict(default_environment()))
    wrong = []
    for name, version in pins.items():
        try:
            installed = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            wrong.append(f"{name} (locked {version}) is not installed")
            continue
        if installed != version:
            wrong.append(f"{name} {installed} is installed, the lock has {version}")
    assert not wrong, ("this environment was not installed from requirements.lock "
                       "(see README): " + "; ".join(wrong))


def _pip(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    # No pip configuration of this machine (extra indexes, find-links): only what is installed.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return subprocess.run([sys.executable, "-m", "pip", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_installed_packages_are_consistent():
    """pip check: every installed package's own requirements hold (the lock is coherent)."""
    result = _pip("check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_pip_resolves_pyproject_with_the_lock_offline(tmp_path):
    """pip's resolver, with no index, accepts pyproject.toml + the lock + what is installed.

    A dependency added to pyproject.toml without refreshing the lock, a bound the lock breaks,
    or a lock that disagrees with what is installed each makes pip look for a distribution it
    cannot have, and fail.
    """
    report = tmp_path / "report.json"
    result = _pip("install", "--dry-run", "--no-index", "--no-build-isolation",
                  "--report", str(report), "-c", str(LOCK), "-e", f"{ROOT}[test]")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    would_install = re.findall(r"Would install (.+)", result.stdout)
    # Only the project itself may be (re)installed; every dependency is already in place.
    others = [item for line in would_install for item in line.split()
              if not item.lower().startswith(PROJECT + "-")]
    assert not others, f"pip would install {others}: the environment is not the lock's"
