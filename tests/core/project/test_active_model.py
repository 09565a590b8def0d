"""The active model (the one prediction uses) is stored in the project and survives reopening."""
import pytest

from core.categories import CategorySet
from core.errors import ProjectError
from core.project import Project


def test_set_active_survives_reopen_and_delete_clears_it(tmp_path):
    path = tmp_path / "p.pinspect"
    with Project.create(path) as project:
        cats = project.categories.get()
        assert project.models.active_id() is None and project.models.active() is None
        a = project.models.add("a", checkpoint=None, config={}, categories=cats)
        b = project.models.add("b", checkpoint=None, config={}, categories=cats)
        project.models.set_active(b)
    with Project.open(path) as project:
        assert project.models.active_id() == b
        assert project.models.active().name == "b"
        project.models.delete(a)                 # another model: the active one stays
        assert project.models.active_id() == b
        project.models.delete(b)
        assert project.models.active_id() is None
        with pytest.raises(ProjectError, match="no model with id 99"):
            project.models.set_active(99)
        c = project.models.add("c", checkpoint=None, config={}, categories=CategorySet.from_json(cats.to_json()))
        project.models.set_active(c)
        project.models.set_active(None)
        assert project.models.active_id() is None
