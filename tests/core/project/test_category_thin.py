"""Categories' thin flags are kept by the project (without a schema change) and by model records."""
from __future__ import annotations

from dataclasses import replace

from core.categories import default_categories
from core.project import Project


def test_thin_flags_round_trip_and_old_projects_follow_names(tmp_path):
    path = tmp_path / "p.pinspect"
    with Project.create(path, default_categories()) as p:
        assert all(c.thin is None for c in p.categories.get())  # as in every older project
        crack = p.categories.get().by_name("crack")
        p.categories.update(replace(crack, thin=False))
        added = p.categories.add("sealant joint", True, thin=True)
        p.categories.update(replace(p.categories.get().by_name("spalling"), name="spall"))
        model = p.models.add("m", checkpoint=None, config={}, categories=p.categories.get())
    with Project.open(path, read_only=True) as p:
        cats = p.categories.get()
        assert cats.by_name("crack").thin is False and cats.by_id(added.id).thin is True
        assert cats.by_name("spall").thin is None
        assert p.models.get(model).categories == cats  # a checkpoint's record keeps the flags too
    with Project.open(path) as p:
        p.categories.update(replace(p.categories.get().by_name("crack"), thin=None))  # back to the name rule
        assert p.categories.get().by_name("crack").thin is None
