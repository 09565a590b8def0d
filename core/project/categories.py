"""The project's category set: editable, and never a silent relabel of pixels.

Masks refer to category ids, so renaming, recolouring and reordering touch no annotation.
Deleting a category that segments use needs the caller's decision (``reassign_to``): another
category, or ``None`` for void. Without it ``CategoryInUseError`` says how much is at stake.
Ids are never reused within a project (a deleted id stays retired), so an old model or prediction
never meets a different class under a known id.
"""
from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import replace
from typing import TYPE_CHECKING
from collections.abc import Mapping

import numpy as np

from core.categories import Category, CategorySet, _auto_color, as_rgb
from core.errors import CategoryError
from core.idpng import decode_ids
from core.panoptic import PanopticAnnotation
from core.project import annotations as ann_rows
from core.project.schema import now_iso

if TYPE_CHECKING:
    from pathlib import Path

    from core.progress import ProgressFn
    from core.project.store import Project

log = logging.getLogger(__name__)


class _Ask:
    def __repr__(self) -> str:
        return "ASK"


#: Default of ``reassign_to``: no decision made, so deleting a used category raises.
ASK = _Ask()


class CategoryInUseError(CategoryError):
    """Deleting a category whose pixels are annotated needs a decision (``reassign_to``).

    Attributes: ``category`` (the Category), ``segments``, ``images``, ``pixels`` in use.
    """

    def __init__(self, category: Category, segments: int, images: int, pixels: int,
                 path: str | Path | None = None) -> None:
        self.category, self.segments, self.images, self.pixels = category, segments, images, pixels
        super().__init__(
            f"category {category.name!r} (id {category.id}) is used by {segments} segments in {images} "
            f"images ({pixels:,} pixels)", path,
            hint="choose what its pixels become: another category (reassign_to=<id>) or void "
                 "(reassign_to=None)")


#: ``meta`` key of the categories' explicit "thin" flags, JSON ``{"<id>": true/false}``. Kept out of
#: the categories table so that no schema migration is needed: projects without the key (older
#: ones) read every flag as None (follow the name), and older readers ignore it.
_THIN_KEY = "category_thin"


def _thin_flags(conn: sqlite3.Connection) -> dict[str, bool]:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (_THIN_KEY,)).fetchone()
    if row is None:
        return {}
    try:
        flags = json.loads(row[0])
    except json.JSONDecodeError:
        log.warning("the project's category thin flags are unreadable; every category follows its name")
        return {}
    return {str(k): bool(v) for k, v in flags.items()} if isinstance(flags, dict) else {}


def _set_thin_flag(conn: sqlite3.Connection, c: Category) -> None:
    flags = _thin_flags(conn)
    if c.thin is None:
        if flags.pop(str(c.id), None) is None:
            return
    else:
        flags[str(c.id)] = bool(c.thin)
    conn.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                 (_THIN_KEY, json.dumps(flags)))


def _rows(conn: sqlite3.Connection) -> CategorySet:
    rows = conn.execute("SELECT id, name, isthing, color_r, color_g, color_b, supercategory FROM categories "
                        "ORDER BY position, id").fetchall()
    thin = _thin_flags(conn)
    return CategorySet(tuple(Category(r[0], r[1], bool(r[2]), (r[3], r[4], r[5]), r[6], thin.get(str(r[0])))
                             for r in rows))


def _next_id(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = 'next_category_id'").fetchone()
    stored = json.loads(row[0]) if row else 1
    top = conn.execute("SELECT coalesce(max(id), 0) FROM categories").fetchone()[0]
    return max(int(stored), int(top) + 1)


def _bump_next_id(conn: sqlite3.Connection, used: int) -> None:
    nxt = max(_next_id(conn), used + 1)
    conn.execute("INSERT INTO meta VALUES ('next_category_id', ?) ON CONFLICT(key) DO UPDATE SET "
                 "value = excluded.value", (json.dumps(nxt),))


def _upsert(conn: sqlite3.Connection, c: Category, position: int) -> None:
    conn.execute("INSERT INTO categories (id, name, isthing, color_r, color_g, color_b, supercategory, position) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name, "
                 "isthing = excluded.isthing, color_r = excluded.color_r, color_g = excluded.color_g, "
                 "color_b = excluded.color_b, supercategory = excluded.supercategory, position = excluded.position",
                 (c.id, c.name, int(c.isthing), *(int(v) for v in c.color), c.supercategory, position))
    _set_thin_flag(conn, c)
    _bump_next_id(conn, c.id)


class CategoryStore:
    """``project.categories``."""

    def __init__(self, project: Project):
        self._project = project
        self._db = project._db

    @staticmethod
    def insert_initial(conn: sqlite3.Connection, categories: CategorySet) -> None:
        for pos, c in enumerate(categories):
            _upsert(conn, c, pos)

    def get(self) -> CategorySet:
        """The current set, in display order."""
        return _rows(self._db.connection())

    def add(self, name: str, isthing: bool, color: tuple[int, int, int] | None = None,
            supercategory: str = "defect", thin: bool | None = None) -> Category:
        """Add a category with a fresh id (never one used before in this project).

        ``thin``: see ``Category.thin`` (None: follow the name)."""
        with self._db.write(f"add the category {name!r}") as conn:
            current = _rows(conn)
            cid = _next_id(conn)
            cat = Category(cid, name.strip(), bool(isthing), as_rgb(color) if color else _auto_color(cid),
                           supercategory, None if thin is None else bool(thin))
            CategorySet(current.categories + (cat,))  # validates: unique name, colour range
            _upsert(conn, cat, len(current))
        return cat

    def update(self, category: Category) -> None:
        """Rename, recolour, change thing/stuff or supercategory of an existing category.

        Pixels keep their class (they refer to the id).
        """
        with self._db.write(f"change the category {category.name!r}") as conn:
            current = _rows(conn)
            current.replaced(category)  # validates: exists, unique name
            pos = current.ids.index(category.id)
            _upsert(conn, category, pos)

    def reorder(self, ids: list[int]) -> None:
        """Set the display order; ``ids`` must be a permutation of the current ids."""
        with self._db.write("reorder the categories") as conn:
            current = _rows(conn)
            if sorted(ids) != sorted(current.ids):
                raise CategoryError(f"reorder needs every category id once: got {ids}, have {current.ids}")
            conn.executemany("UPDATE categories SET position = ? WHERE id = ?",
                             [(pos, int(i)) for pos, i in enumerate(ids)])

    def usage(self, category_id: int) -> tuple[int, int, int]:
        """``(segments, images, pixels)`` of annotations that use a category."""
        row = self._db.connection().execute(
            "SELECT count(*), count(DISTINCT image_id), coalesce(sum(area), 0) FROM segments "
            "WHERE category_id = ?", (int(category_id),)).fetchone()
        return int(row[0]), int(row[1]), int(row[2])

    def delete(self, category_id: int, *, reassign_to: int | None | _Ask = ASK,
               progress: ProgressFn | None = None) -> None:
        """Delete a category. When annotations use it, ``reassign_to`` decides what the pixels
        become: another category's id, or ``None`` for void. All in one transaction.

        Reassigning to a *stuff* category merges the pixels into that image's segment of the
        class (one stuff segment per class and image, as panoptic requires); to a *thing*
        category each segment keeps its pixels and becomes an instance of it.
        Raises:
            CategoryInUseError: used, and no decision was passed.
            CategoryError: unknown id, or reassigning to itself / to an unknown category.
        """
        self.replace_all(self._without(category_id), reassign={category_id: reassign_to}, progress=progress)

    def _without(self, category_id: int) -> CategorySet:
        return self.get().removed(int(category_id))

    def replace_all(self, categories: CategorySet, reassign: Mapping[int, int | None | _Ask] | None = None,
                    progress: ProgressFn | None = None) -> None:
        """Make the project's set equal ``categories`` (the editor dialog's OK), in one transaction.

        Categories are matched by id: new ids are added, existing ones updated, missing ones
        deleted, following ``reassign[old id]`` (see ``delete``) when annotations use them.
        """
        reassign = dict(reassign or {})
        with self._db.write("change the categories") as conn:
            current = _rows(conn)
            removed = [c for c in current if c.id not in categories]
            for c in removed:
                decision = reassign.get(c.id, ASK)
                segs, imgs, pix = self.usage(c.id)
                if segs and isinstance(decision, _Ask):
                    raise CategoryInUseError(c, segs, imgs, pix, self._project.path)
                if decision is not None and not isinstance(decision, _Ask):
                    if decision == c.id or decision not in categories:
                        raise CategoryError(f"cannot reassign {c.name!r} to category id {decision}: "
                                            f"it is not in the new set {categories.ids}")
            # Swapping two names would violate UNIQUE(name) half-way: park names first.
            conn.execute("UPDATE categories SET name = char(65535) || id")
            for pos, c in enumerate(categories):
                _upsert(conn, c, pos)
            for c in removed:
                decision = reassign.get(c.id, ASK)
                if not isinstance(decision, _Ask) and self.usage(c.id)[0]:
                    target = None if decision is None else categories.by_id(int(decision))
                    _reassign(conn, c.id, target, progress)
                conn.execute("DELETE FROM categories WHERE id = ?", (c.id,))
                log.info("deleted category %s (id %d)", c.name, c.id)


def _reassign(conn: sqlite3.Connection, cat_id: int, target: Category | None, progress: ProgressFn | None) -> None:
    """Move the pixels of ``cat_id`` to ``target`` (None = void) inside the caller's transaction."""
    images = [r[0] for r in conn.execute("SELECT DISTINCT image_id FROM segments WHERE category_id = ? "
                                         "ORDER BY image_id", (cat_id,))]
    if target is not None and target.isthing:
        # Instances stay instances: only the class changes, the id map is untouched.
        conn.execute("UPDATE segments SET category_id = ? WHERE category_id = ?", (target.id, cat_id))
        conn.executemany("UPDATE annotations SET revision = revision + 1, updated_at = ? WHERE image_id = ?",
                         [(now_iso(), i) for i in images])
        return
    for n, image_id in enumerate(images, 1):
        stored = ann_rows.read(conn, image_id)
        assert stored is not None, "a segment row references its annotation row (foreign key)"
        png, segs = stored
        h, w = conn.execute("SELECT height, width FROM annotations WHERE image_id = ?", (image_id,)).fetchone()
        id_map = decode_ids(png, f"annotation of image {image_id}")
        moving = [s.id for s in segs.values() if s.category_id == cat_id]
        keep = {k: v for k, v in segs.items() if k not in moving}
        if target is None:
            new_id = 0
        else:
            existing = [s.id for s in keep.values() if s.category_id == target.id]
            new_id = existing[0] if existing else moving[0]
            keep[new_id] = replace(segs[new_id], category_id=target.id)
        lut_from = np.array(sorted(moving), np.int64)
        hit = np.isin(id_map, lut_from)
        id_map[hit] = new_id
        png2, rows = ann_rows.prepare(PanopticAnnotation(id_map, keep), h, w, image_id)
        ann_rows.write(conn, image_id, h, w, png2, rows)
        if progress:
            progress(n, len(images), f"image {image_id}")
