"""Running the ``idnode`` command in tests: in the test's process, or as a real process.

A new process costs about a second of imports per command. Where the process boundary is not
what a test checks, ``idnode(env, *args)`` calls the command's ``main`` in a thread of the test's
process (so it works from async tests too) with ``env`` set, its settings read anew, and its output
and exit code captured as a ``CompletedProcess``; ``process=True`` runs ``python -m node`` instead.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping

from node.cli import main
from node.settings import CONFIG_ENV, get_settings

__all__ = ["idnode"]

_ONE_AT_A_TIME = threading.Lock()


def idnode(
    env: Mapping[str, str], *args: str, process: bool = False, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``idnode *args`` with ``env`` added to the environment; never raises on a failed command."""
    if process:
        return subprocess.run(
            [sys.executable, "-m", "node", *args],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    out, err = io.StringIO(), io.StringIO()
    outcome: list[int | BaseException] = []

    def run() -> None:
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                outcome.append(main(list(args)))
        except SystemExit as exc:  # argparse's answer to bad arguments
            outcome.append(exc.code if isinstance(exc.code, int) else 2)
        except BaseException as exc:
            outcome.append(exc)

    with _ONE_AT_A_TIME, _environment(env):
        thread = threading.Thread(target=run, name="idnode-command", daemon=True)
        thread.start()
        thread.join(timeout)
        if thread.is_alive():
            raise TimeoutError(f"idnode {' '.join(args)} did not finish within {timeout} s")
    code = outcome[0]
    if isinstance(code, BaseException):
        raise code
    return subprocess.CompletedProcess(["idnode", *args], code, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    """``env`` set, and the command's once-read settings and umask as they were, around a call."""
    # IDNODE_CONFIG too: ``--config`` sets it for the command (and its worker processes).
    saved = {name: os.environ.get(name) for name in [*env, CONFIG_ENV]}
    umask = os.umask(0o022)
    os.umask(umask)
    os.environ.update(env)
    get_settings.cache_clear()
    try:
        yield
    finally:
        get_settings.cache_clear()
        os.umask(umask)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
