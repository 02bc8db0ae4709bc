"""Huewall: Bing picture of the day as wallpaper, with a matching colour gradient."""

__version__ = "0.1.0"
