"""The application shell: start-up, the main window that composes the features, its actions and
menus, the status bar, theme, settings, window state, single instance, desktop integration and
the error reporter."""
