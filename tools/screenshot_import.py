"""Screenshot of importing photos + class-index masks in the window (docs/images/gui_import_masks.png).

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python tools/screenshot_import.py [--out docs/images]

Writes a small dataset in a temporary folder as other tools export it: synthetic photos
(``core.synthetic``) and gray PNG masks with 1 crack, 2 spalling, 3 exposed rebar, 5 corrosion
(a class the default set lacks: there 5 is ``background``), 255 on a border, and specks of the
spall's value along its ragged edge. Opens the sample project, then File > Import
dataset…, fills the dialog as a user would, maps 5 to a new category, presses Check and grabs the
dialog with what will be created. Nothing outside the temporary folder is touched (``tools.shots``).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools import shots


def write_dataset(root: Path, n: int = 6) -> tuple[Path, Path]:
    """``n`` synthetic photos and their class-index masks (values in the module docstring)."""
    from PIL import Image

    from core.imageio import encode_jpeg
    from core.synthetic.generator import generate_sample

    photos, masks = root / "photos", root / "masks"
    photos.mkdir(parents=True)
    masks.mkdir()
    for i in range(n):
        rgb, ann = generate_sample(100 + i, (640, 480))
        cats = {k: s.category_id for k, s in ann.segments.items()}
        lut = np.zeros(int(ann.id_map.max()) + 1, np.uint8)
        for k, cid in cats.items():
            lut[k] = cid if cid in (1, 2, 3) else 0
        mask = lut[ann.id_map]
        rng = np.random.default_rng(i)
        cy, cx = rng.integers(120, 360), rng.integers(120, 520)
        yy, xx = np.mgrid[0:480, 0:640]
        mask[((yy - cy) / 40.0) ** 2 + ((xx - cx) / 70.0) ** 2 < 1] = 5  # a corroded patch
        spall = mask == 2
        if spall.any():  # a ragged edge: single pixels of value 2 a few pixels outside the spall
            from scipy.ndimage import binary_dilation

            ring = binary_dilation(spall, iterations=4) & ~binary_dilation(spall, iterations=2)
            ys, xs = np.nonzero(ring)
            pick = rng.choice(len(ys), size=min(12, len(ys)), replace=False)
            mask[ys[pick], xs[pick]] = 2
        mask[:3], mask[-3:], mask[:, :3], mask[:, -3:] = 255, 255, 255, 255
        (photos / f"deck_{i:02d}.jpg").write_bytes(encode_jpeg(rgb))
        Image.fromarray(mask).save(masks / f"deck_{i:02d}.png")
    return photos, masks


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    shots.add_arguments(ap)
    args = ap.parse_args(argv)

    tmp = shots.fresh_user("pi-import-shots-")
    app = shots.make_app()
    photos, masks = write_dataset(tmp / "deck survey")
    w = shots.open_window(app, shots.sample_project(tmp), shots.window_size(args.size))

    from core.formats.detect import MASK_FOLDER
    from gui.dialogs.import_dialog import ImportDialog

    w.actions.a["import"].trigger()
    shots.spin(app, until=lambda: any(d.isVisible() for d in w.findChildren(ImportDialog)), timeout=10)
    dialog = next(d for d in w.findChildren(ImportDialog) if d.isVisible())
    dialog.kind.setCurrentIndex(dialog.kind.findData(MASK_FOLDER))
    dialog.images.set_path(photos)
    dialog.masks.set_path(masks)
    table = dialog.classes.table
    if not shots.spin(app, until=lambda: table.rowCount() >= 5, timeout=30):
        raise TimeoutError("the values in the masks were not listed")
    row = next(r for r in range(table.rowCount()) if table.item(r, 0).text() == "5")
    becomes = table.cellWidget(row, 3)
    becomes.setCurrentIndex(becomes.findText("New category…"))
    table.cellWidget(row, 4).setText("corrosion")
    dialog.fill.setCurrentIndex(dialog.fill.findText("concrete"))
    dialog.resize(980, 900)
    shots.spin(app, 0.5)
    dialog.check()
    if not shots.spin(app, until=lambda: dialog.import_button.isEnabled(), timeout=60):
        raise TimeoutError(f"the check did not end: {dialog.summary.toPlainText()}")
    dialog.summary.setMinimumHeight(230)
    shots.spin(app, 0.5)
    shots.save(dialog, args.out / "gui_import_masks.png")
    dialog.reject()
    shots.close_window(app, w)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
