"""The errors the core raises. Each carries one line a user can act on."""

from __future__ import annotations


class HuewallError(Exception):
    """Base class: ``str(error)`` is a complete, one-line message for the user."""

    exit_code = 1


class UsageError(HuewallError):
    """Bad input from the user (arguments, settings); the CLI exits 2."""

    exit_code = 2


class UnknownMarketError(UsageError):
    def __init__(self, market: str) -> None:
        super().__init__(f"unknown locale {market!r}; run 'huewall locales' to list the valid ones")
        self.market = market


class NetworkError(HuewallError):
    """The server could not be reached, timed out or answered with an HTTP error."""


class BadResponseError(HuewallError):
    """The server answered, but with something that is not what Bing sends."""


class NotAWallpaperError(HuewallError):
    """Bing does not offer this picture as a wallpaper (``wp: false``)."""

    exit_code = 3


class NotFoundError(HuewallError):
    """No picture is known for the requested day."""


class LockTimeoutError(HuewallError):
    """Waiting for another thread or process doing the same work took too long."""


class PaletteError(HuewallError):
    """A palette could not be made (AI call failed, bad answer, unreadable picture)."""


class StoreError(HuewallError):
    """The cache or archive could not be read or written."""


class WallpaperError(HuewallError):
    """The desktop's wallpaper could not be set; the message names the backend and why."""


_BY_NAME: dict[str, type[HuewallError]] = {
    cls.__name__: cls
    for cls in (
        HuewallError,
        UsageError,
        NetworkError,
        BadResponseError,
        NotAWallpaperError,
        NotFoundError,
        LockTimeoutError,
        PaletteError,
        StoreError,
        WallpaperError,
    )
}


def error_from_record(kind: str, message: str) -> HuewallError:
    """Rebuild an error recorded by another thread or process (see ``Store.record_failure``)."""
    cls = _BY_NAME.get(kind, HuewallError)
    error = HuewallError.__new__(cls)
    HuewallError.__init__(error, message)
    return error
