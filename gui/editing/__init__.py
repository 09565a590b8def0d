"""Editing in the GUI: undoable commands over ``core.editing``, tools, autosave."""
