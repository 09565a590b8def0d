"""What the window is showing, with signals when it changes: the open project (``ProjectSession``)
and the photo on the canvas (``PhotoSession``). Every feature reads and edits through them."""
