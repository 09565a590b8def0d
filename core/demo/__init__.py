"""The first five minutes: the headless demo pipeline and the demo model shipped for the sample.

    result = run_demo("demo-run", minutes=3)         # data -> project -> train -> predict + PQ -> export
    print("\\n".join(result.lines()))
    add_demo_model("Sample.pinspect")                  # the shipped model, active, photos predicted

``run_demo`` lives in ``core.demo.pipeline`` (what ``python main.py demo`` runs), the shipped model
in ``core.demo.sample_model``, the sample project of the first start (and a project made from a
generated dataset) in ``core.demo.sample_project``. Nothing here imports torch until a model is needed.
"""
from core.demo.pipeline import DEFAULT_SIZE, DemoResult, StageTime, run_demo
from core.demo.sample_model import DEMO_MODEL_RESOURCE, DemoModelReport, add_demo_model, demo_model_path

__all__ = ["DEFAULT_SIZE", "DemoResult", "StageTime", "run_demo", "DEMO_MODEL_RESOURCE", "DemoModelReport",
           "add_demo_model", "demo_model_path"]
