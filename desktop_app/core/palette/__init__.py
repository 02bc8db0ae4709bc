"""Palettes: a UI colour gradient for a picture, from an AI vision model or computed locally."""

from desktop_app.core.palette.base import Palette, PaletteAnalyser

__all__ = ["Palette", "PaletteAnalyser"]
