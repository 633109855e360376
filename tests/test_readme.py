"""The README's examples run as printed, in order, in an empty home folder;
the files it names exist.

Every ```bash and ```python block runs (bash with -euo pipefail, Python in a
new interpreter), except a block right after an HTML comment saying it is not
run by this test, and why. The only setup is what the README says the reader
has: a day's acquisition folder in the default raw data root.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

#: A fenced block, with the HTML comment right before it if there is one.
BLOCK = re.compile(
    r"(?:<!--(?P<comment>[^>]*)-->\s*\n)?```(?P<language>\w+)\n(?P<code>.*?)```",
    re.DOTALL,
)

#: The day's data the upload example describes.
DAY_FOLDER = "flexiznam_data/raw/3d_vision/PZAH6.4b/S20210420"


def blocks() -> list[tuple[str, str, str | None]]:
    """``(language, code, comment)`` of each fenced block, in order."""
    text = README.read_text()
    return [
        (match["language"], match["code"], match["comment"])
        for match in BLOCK.finditer(text)
    ]


def test_only_installation_and_long_running_blocks_are_skipped():
    skipped = [code for _, code, comment in blocks() if comment]
    assert all("not run by tests/test_readme.py" in c for *_, c in blocks() if c)
    assert len(skipped) == 4
    assert all(code.startswith(("pip install", "flexilims serve")) for code in skipped)


@pytest.fixture
def fresh_home(tmp_path):
    """An empty home folder with the day's data in the default raw root, and
    the environment a new user has (the installed commands on the PATH)."""
    sys.path.insert(0, str(ROOT / "tests" / "flexiznam"))
    try:
        from acquisition import make_session_folder
    finally:
        sys.path.pop(0)
    day = tmp_path / DAY_FOLDER
    make_session_folder(
        day.parent.parent, day.parent.name, day.name, recordings=["R101512_retinotopy"]
    )
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLEXIZNAM_", "FLEXILIMS_")) or "HASHING" in key
    }
    environment.update(
        HOME=str(tmp_path),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{environment['PATH']}",
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
    )
    return tmp_path, environment


@pytest.mark.slow
def test_the_examples_run_as_printed(fresh_home):
    home, environment = fresh_home
    assert DAY_FOLDER in README.read_text()
    ran = 0
    for language, code, comment in blocks():
        if comment or language not in ("bash", "python"):
            continue
        if language == "bash":
            command = ["bash", "-euo", "pipefail", "-c", code]
        else:
            command = [sys.executable, "-c", code]
        result = subprocess.run(
            command,
            cwd=home,
            env=environment,
            input="jdoe-password\njdoe-password\n",
            capture_output=True,
            text=True,
            timeout=300,
            start_new_session=True,  # no terminal: passwords come from stdin
        )
        assert result.returncode == 0, f"{code}\n{result.stdout}\n{result.stderr}"
        assert "Traceback" not in result.stderr, result.stderr
        ran += 1
    assert ran == 6
    assert (home / ".flexiznam" / "flexilims.db").exists()
    assert (home / "day.yml").exists() and (home / "demo.json").exists()


def test_the_files_it_names_exist():
    text = README.read_text()
    named = set(re.findall(r"\]\(([^)#]+)\)", text))
    named |= set(re.findall(r"`((?:docs|src|tests|bench)/[^`\s]+)`", text))
    named |= set(re.findall(r"`(\.\./[^`\s]+)`", text))
    assert named, "the README names no file?"
    missing = [name for name in sorted(named) if not (ROOT / name).exists()]
    assert missing == []
