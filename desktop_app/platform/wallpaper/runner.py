"""Running a desktop's own tools: argument lists (never a shell), a timeout, checked results."""

from __future__ import annotations

import locale
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence

from desktop_app.core.errors import WallpaperError

DEFAULT_TIMEOUT = 20.0


class CommandRunner:
    """Finds and runs commands with the session's environment.

    Every failure becomes a one-line ``WallpaperError`` that names the backend, the
    command and what it said (its exit code and the last line of its stderr).
    """

    def __init__(
        self, env: Mapping[str, str] | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self.env = dict(os.environ if env is None else env)
        self.timeout = timeout

    def which(self, tool: str) -> str | None:
        return shutil.which(tool, path=self.env.get("PATH", os.defpath))

    def run(
        self,
        backend: str,
        argv: Sequence[str],
        *,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
        input_text: str | None = None,
    ) -> str:
        """Run ``argv`` and return its stdout; raise ``WallpaperError`` on any failure."""
        tool = argv[0]
        path = self.which(tool) if os.sep not in tool else tool
        if path is None:
            raise WallpaperError(f"{backend}: '{tool}' is not installed")
        limit = self.timeout if timeout is None else timeout
        try:
            result = subprocess.run(
                [path, *argv[1:]],
                capture_output=True,
                text=True,
                errors="replace",
                timeout=limit,
                env={**self.env, **(env or {})},
                input=input_text,
                stdin=None if input_text is not None else subprocess.DEVNULL,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise WallpaperError(f"{backend}: '{tool}' did not finish within {limit:g} s") from None
        except OSError as exc:
            raise WallpaperError(f"{backend}: cannot run '{tool}': {exc.strerror or exc}") from None
        if result.returncode != 0:
            said = last_line(result.stderr) or last_line(result.stdout) or "no message"
            raise WallpaperError(f"{backend}: '{tool}' failed (exit {result.returncode}): {said}")
        return result.stdout


def utf8_output_env() -> dict[str, str]:
    """Make GLib tools print UTF-8 whatever the locale, when Python decodes UTF-8.

    In the C locale GLib converts what it prints to ASCII ('é' becomes '?') and
    GOption rejects non-ASCII arguments; GLib's ``CHARSET`` variable overrides the
    locale's character set for both.
    """
    encoding = locale.getpreferredencoding(False).lower().replace("-", "").replace("_", "")
    return {"CHARSET": "UTF-8"} if encoding == "utf8" else {}


def last_line(text: str | None) -> str:
    """The last non-empty line of a tool's output, trimmed for a one-line message."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""
