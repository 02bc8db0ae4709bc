"""Setting the desktop wallpaper on every desktop and OS, without Qt."""
