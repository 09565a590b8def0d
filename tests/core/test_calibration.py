"""Calibration: from a drawn line or a ground sampling distance, errors, the store's records."""

import pytest

from core.errors import InspectorError
from core.measure import Calibration, CalibrationError, calibration_from_gsd, calibration_from_line


def test_a_line_of_400_px_over_100_mm_gives_a_quarter_millimetre_per_pixel():
    cal = calibration_from_line((10, 20), (410, 20), 100)
    assert cal.mm_per_pixel == pytest.approx(0.25)
    assert cal.method == "line"
    assert cal.detail["length_px"] == pytest.approx(400)
    assert cal.length(8) == pytest.approx(2.0) and cal.area(16) == pytest.approx(1.0)
    assert "1 px = 0.25 mm" in cal.describe() and "400.0 px = 100 mm" in cal.describe()


def test_diagonal_line_and_other_units():
    cal = calibration_from_line((0, 0), (300, 400), 5, unit="cm")  # 500 px over 50 mm
    assert cal.mm_per_pixel == pytest.approx(0.1)
    assert calibration_from_gsd(0.05, "cm").mm_per_pixel == pytest.approx(0.5)
    assert calibration_from_gsd(0.3).method == "gsd"


@pytest.mark.parametrize("p1, length", [((0, 0), 10), ((0, 0.5), 10), ((100, 0), 0), ((100, 0), -3),
                                        ((100, 0), float("nan")), ((100, 0), "ten")])
def test_bad_input_raises_a_typed_error(p1, length):
    with pytest.raises(CalibrationError) as info:
        calibration_from_line((0, 0), p1, length)
    assert isinstance(info.value, InspectorError)  # the GUI shows these as messages


def test_bad_values_and_units_are_refused():
    with pytest.raises(CalibrationError):
        Calibration(0.0)
    with pytest.raises(CalibrationError):
        calibration_from_gsd(1, unit="furlong")


def test_json_round_trip_and_former_method_names():
    cal = calibration_from_line((0, 0), (200, 0), 50)
    assert Calibration.from_json(cal.to_json()) == cal
    assert Calibration(0.2, "reference_length").method == "line" and Calibration(0.2, "entered").method == "gsd"
