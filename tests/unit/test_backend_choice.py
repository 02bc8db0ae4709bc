"""Which backend a session gets, and what the user is told when none fits."""

from __future__ import annotations

import pytest

from desktop_app.core.errors import UsageError, WallpaperError
from desktop_app.platform.wallpaper.registry import backend_names, choose, choose_ready
from desktop_app.platform.wallpaper.runner import CommandRunner
from desktop_app.platform.wallpaper.session import Session


@pytest.mark.parametrize(
    ("env", "platform", "expected"),
    [
        ({"XDG_CURRENT_DESKTOP": "GNOME", "WAYLAND_DISPLAY": "wayland-0"}, "linux", "gnome"),
        ({"XDG_CURRENT_DESKTOP": "ubuntu:GNOME", "DISPLAY": ":0"}, "linux", "gnome"),
        ({"XDG_CURRENT_DESKTOP": "Budgie:GNOME"}, "linux", "gnome"),
        ({"XDG_CURRENT_DESKTOP": "Unity"}, "linux", "gnome"),
        ({"XDG_CURRENT_DESKTOP": "X-Cinnamon"}, "linux", "cinnamon"),
        ({"XDG_CURRENT_DESKTOP": "MATE"}, "linux", "mate"),
        ({"XDG_CURRENT_DESKTOP": "KDE", "KDE_FULL_SESSION": "true"}, "linux", "kde"),
        ({"KDE_FULL_SESSION": "true", "DISPLAY": ":0"}, "linux", "kde"),
        ({"XDG_CURRENT_DESKTOP": "XFCE"}, "linux", "xfce"),
        ({"XDG_CURRENT_DESKTOP": "LXDE"}, "linux", "lxde"),
        ({"XDG_CURRENT_DESKTOP": "LXQt"}, "linux", "lxqt"),
        (
            {"SWAYSOCK": "/run/user/1000/sway-ipc.sock", "WAYLAND_DISPLAY": "wayland-1"},
            "linux",
            "sway",
        ),
        ({"XDG_CURRENT_DESKTOP": "sway"}, "linux", "sway"),
        (
            {"HYPRLAND_INSTANCE_SIGNATURE": "abc", "WAYLAND_DISPLAY": "wayland-1"},
            "linux",
            "hyprland",
        ),
        ({"XDG_CURRENT_DESKTOP": "Hyprland"}, "linux", "hyprland"),
        ({"DISPLAY": ":0", "XDG_SESSION_TYPE": "x11", "DESKTOP_SESSION": "i3"}, "linux", "x11"),
        ({"DISPLAY": ":0"}, "linux", "x11"),
        ({}, "darwin", "macos"),
        ({}, "win32", "windows"),
        ({"XDG_CURRENT_DESKTOP": "gnome", "FLATPAK_ID": "io.github.huewall"}, "linux", "portal"),
    ],
)
def test_the_session_picks_its_backend(env: dict[str, str], platform: str, expected: str) -> None:
    session = Session.from_env(env, platform=platform)
    choice = choose(session, CommandRunner(env))
    assert choice.backend.name == expected
    assert choice.reason


def test_desktop_names_match_case_insensitively_in_a_list() -> None:
    session = Session.from_env({"XDG_CURRENT_DESKTOP": "Pop:GNOME"}, platform="linux")
    assert session.desktops == ("pop", "gnome")
    assert session.is_desktop("gnome") and not session.is_desktop("kde")


def test_an_unknown_wayland_compositor_asks_for_a_backend() -> None:
    env = {"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}
    with pytest.raises(WallpaperError, match="name a backend with --backend"):
        choose(Session.from_env(env, platform="linux"), CommandRunner(env))


def test_the_user_can_override_the_choice() -> None:
    env = {"XDG_CURRENT_DESKTOP": "GNOME"}
    session = Session.from_env(env, platform="linux")
    assert choose(session, CommandRunner(env), "x11").backend.name == "x11"
    assert choose(session, CommandRunner(env), "auto").backend.name == "gnome"
    with pytest.raises(
        UsageError, match="unknown wallpaper backend 'enlightenment'; choose one of auto, "
    ):
        choose(session, CommandRunner(env), "enlightenment")


def test_a_fitting_backend_without_its_tool_says_what_to_install(tmp_path: object) -> None:
    env = {"DISPLAY": ":0", "PATH": "/nonexistent"}
    with pytest.raises(WallpaperError, match=r"apt install feh"):
        choose_ready(Session.from_env(env, platform="linux"), CommandRunner(env))


def test_every_backend_has_a_unique_name() -> None:
    names = backend_names()
    assert len(names) == len(set(names)) >= 13
