"""What a fresh interpreter loads: for the tests that keep start-up cheap
(imported by test modules, as :mod:`servers` is)."""

import json
import subprocess
import sys


def run_and_list_modules(code: str) -> tuple[set[str], str]:
    """Run ``code`` in a fresh interpreter (with this process's environment,
    so its flexiznam config); the modules it had loaded at the end, and what
    it printed."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    *printed, modules = result.stdout.splitlines()
    return set(json.loads(modules)), "\n".join(printed)
