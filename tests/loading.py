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


def run_commands_and_list_modules(
    cli: str, commands, modules
) -> list[tuple[set[str], str]]:
    """Run each of ``commands`` (argument lists of the click group ``cli``,
    as ``"package.module:name"``) in turn, in one fresh interpreter (each
    must succeed). For each: which of ``modules`` were loaded after it (they
    accumulate: the first command to load one is the one to blame), and what
    it printed."""
    module, name = cli.split(":")
    marker = "--- loaded after the command:"
    loaded = f"sorted(set({list(modules)!r}) & set(sys.modules))"
    code = f"import json, sys\nfrom {module} import {name} as cli\n"
    for args in commands:
        code += (
            f"assert cli.main({list(args)!r}, standalone_mode=False) in (None, 0)\n"
            f"print({marker!r}, json.dumps({loaded}))\n"
        )
    results, printed = [], []
    for line in run_and_list_modules(code)[1].splitlines():
        if line.startswith(marker):
            results.append((set(json.loads(line[len(marker) :])), "\n".join(printed)))
            printed = []
        else:
            printed.append(line)
    assert len(results) == len(commands), "\n".join(printed)
    return results
