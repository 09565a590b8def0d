"""Measuring in the window: the measurements table, canvas tooltips, calibration, the report.

``install.install_measurement(services)`` builds and wires everything; the figures themselves come
from ``core.measure`` (and the report from ``core.report``): nothing here measures.
"""
