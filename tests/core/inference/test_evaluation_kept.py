"""An evaluation of a registered model on the project is kept with the project, so reports and
panels can say how well that model did there."""
from __future__ import annotations

import pytest

from core.categories import default_categories
from core.evaluation.project_eval import evaluate_project, evaluation_photos
from core.project import Project
from core.report.provenance import model_provenance
from tests.support.models import write_photo


@pytest.mark.slow
def test_an_evaluation_is_kept_and_named_with_its_photo_count(tmp_path, predictor):
    with Project.create(tmp_path / "p.pinspect", default_categories()) as project:
        files = []
        for i in range(3):
            path = tmp_path / f"photo_{i}.jpg"
            write_photo(path, 10 + i, (120, 100), quality=95)
            files.append(path)
        project.images.add_files(files)
        recs = project.images.list()
        for rec in recs:
            project.annotations.save(rec.id, predictor.predict(rec.path).panoptic(0.5))
        project.images.set_split([r.id for r in recs], "val")
        model_id = project.models.add("tiny", checkpoint=None, config={}, categories=predictor.categories)
        assert model_provenance(project, model_id).evaluation is None
        ev = evaluate_project(project, predictor, [r.id for r in evaluation_photos(project, "val")],
                              threshold=0.5, model_id=model_id, coco_ap=False)
        prov = model_provenance(project, model_id)
        assert prov.evaluation.n_photos == 3 and prov.evaluation.pq == round(100 * ev.pq.all.pq, 1)
        assert "3 validation photos" in prov.evaluation_text()
        assert "only 3" in prov.absence_reason()  # 100 PQ on its own output, but three photos prove little
