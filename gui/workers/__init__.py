"""Background work: each worker runs one core call off the GUI thread and reports by signals."""
