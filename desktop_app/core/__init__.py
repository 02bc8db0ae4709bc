"""Huewall's Qt-free core: models, Bing client, store, locks, palettes and the service.

Nothing under this package may import PySide6 (a test enforces it), so the CLI, the
tray app and other processes can all share it.
"""
