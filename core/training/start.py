"""Where a training run starts when the user names no weights: fine-tuning is the normal path.

In order: the project's active model (the one that predicts), else the shipped model when the
data shares a defect (a thing category, by name) with it, else the preset's own initial
weights (random, or ImageNet features for ``cpu_lite0``). A model preset named by the user
(``--model``) is respected: then only a model of exactly that configuration is fine-tuned. Explicit
choices (``random``, ``imagenet``, a file) bypass this; the train command and the train dialog
both use it, so they agree.

Fine-tuning a model whose categories differ keeps the class rows of categories with the same name
and kind (``core.training.weights.class_rows_by_name``); a new category gets a new row.
"""
from __future__ import annotations

import collections
import logging
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

from core.categories import CategorySet
from core.errors import CategoryError, CheckpointError
from core.training.config import TrainConfig

log = logging.getLogger(__name__)

#: ``--init`` words that are not files.
INIT_RANDOM, INIT_IMAGENET = "random", "imagenet"
#: The preset that starts from ImageNet features (the package's EfficientNet-Lite0 weights).
IMAGENET_PRESET = "cpu_lite0"


@dataclass(frozen=True)
class Start:
    """The chosen start: ``kind`` ``active`` | ``shipped`` | ``fresh``; ``checkpoint`` the file
    to fine-tune (None: the preset's own initial weights); ``words`` one line for the user."""

    kind: str
    checkpoint: Path | None
    words: str


def class_rows_by_name(stored: CategorySet, data: CategorySet) -> list[int | None]:
    """For each class index of ``data``, the class index in ``stored`` of the category with the
    same name and thing/stuff kind, or None (a new category: its row starts fresh)."""
    where = {(c.name, bool(c.isthing)): i for i, c in enumerate(stored)}
    return [where.get((c.name, bool(c.isthing))) for c in data]


class _Skeleton(pickle.Unpickler):
    """Reads a ``torch.save`` pickle without torch and without building any object but plain
    containers: tensors, storages and dtypes come back as None (nothing is executed)."""

    def find_class(self, module: str, name: str):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch" or module.startswith("torch."):
            return _nothing
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a checkpoint")

    def persistent_load(self, pid):
        return None


def _nothing(*_args, **_kwargs):
    return None


def checkpoint_header(path: str | Path) -> tuple[CategorySet, dict]:
    """``(categories, model config dict)`` of one of our checkpoints, read without torch (the
    train dialog runs on the GUI thread, where importing torch would freeze the window for
    seconds). Raises ``CheckpointError`` for a file that is not a readable checkpoint of ours."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as z:
            name = next((n for n in z.namelist() if n.endswith("/data.pkl")), None)
            if name is None:
                raise CheckpointError("not a PyTorch checkpoint (no data.pkl)", path)
            obj = _Skeleton(z.open(name)).load()
        config = obj["config"]
        if not isinstance(config, dict):
            raise TypeError("the model config is not a mapping")
        return CategorySet.from_json(obj["categories"]), dict(config)
    except CheckpointError:
        raise
    except (OSError, zipfile.BadZipFile, pickle.UnpicklingError, EOFError, KeyError, TypeError,
            CategoryError) as e:
        raise CheckpointError(f"cannot read the checkpoint's categories: {e}", path) from e


def checkpoint_categories(path: str | Path) -> CategorySet:
    """The category table of one of our checkpoints, read without torch (``checkpoint_header``)."""
    return checkpoint_header(path)[0]


def shared_defects(stored: CategorySet, data: CategorySet) -> list[str]:
    """Names of the thing categories (defects) of ``stored`` that ``data`` has too, as things.

    Why a shared defect is enough to fine-tune a model: what it learnt of that defect (a crack's
    look, its thin head) carries over, and its other class rows are simply not used while the
    data's new categories get fresh rows. Measured on UAV75's real crack photos (crack, planking,
    background), 10 CPU-minutes: from the shipped model crack centreline F1 53-55; from random
    weights no crack at all (README, "Real photos")."""
    have = {c.name for c in data if c.isthing}
    return [c.name for c in stored if c.isthing and c.name in have]


def active_model_checkpoint(data: str | Path) -> tuple[str, Path] | None:
    """``(name, checkpoint)`` of the active model of the project ``data``; None when ``data`` is not
    a project, or the project has no model whose file exists."""
    from core.project import Project
    from core.project.active_model import active_model_id

    path = Path(data)
    if path.suffix != ".pinspect" or not path.is_file():
        return None
    with Project.open(path, read_only=True) as project:
        model_id = active_model_id(project)
        if model_id is None:
            return None
        record = project.models.get(model_id)
    if record.checkpoint is None or not record.checkpoint_exists:
        return None
    return record.name, Path(record.checkpoint)


def default_start(data: str | Path, categories: CategorySet, shipped: Path | None,
                  model: dict | None = None) -> Start:
    """The start when none was chosen, for training on ``data`` (a project file or a dataset)
    with ``categories``; ``shipped``: the shipped model's file (None: this build has none);
    ``model``: the model config (dict) the user asked for by name, when they did: then only a
    model with exactly that config is fine-tuned (another architecture is not what they asked for)."""
    def fits(ckpt: Path) -> bool:
        if model is None:
            return True
        from core.model.config import ModelConfig

        try:  # as configs, not dicts: a checkpoint older than a new field has no key for it
            return ModelConfig.from_dict(checkpoint_header(ckpt)[1]) == ModelConfig.from_dict(model)
        except (TypeError, ValueError):  # a config this version cannot read is not the one asked for
            return False

    active = active_model_checkpoint(data)
    if active is not None and fits(active[1]):
        name, ckpt = active
        return Start("active", ckpt, f"fine-tuning the project's active model '{name}' ({ckpt})")
    if shipped is not None and Path(shipped).is_file() and fits(Path(shipped)):
        stored = checkpoint_categories(shipped)
        shared = shared_defects(stored, categories)
        if shared:
            return Start("shipped", Path(shipped), f"fine-tuning the shipped model ({Path(shipped).name}): "
                                                   f"the data has its {', '.join(shared)}")
        log.info("the data shares no defect with the shipped model's (%s)",
                 [c.name for c in stored if c.isthing])
    return Start("fresh", None, "training afresh (no model to fine-tune" +
                 (" with the model asked for)" if model is not None else ")"))


def apply_start(config: TrainConfig, start: Start) -> TrainConfig:
    """``config`` starting as ``start`` says: fine-tuning keeps class rows by name; a fresh start
    keeps the preset's own initial weights (random, or ``cpu_lite0``'s ImageNet features)."""
    if start.checkpoint is None:
        return config
    return config.replace(init_weights=str(start.checkpoint), init_kind="checkpoint", new_class_head=True)


def recipe_of(model_config) -> str | None:
    """The training preset whose model preset builds exactly ``model_config`` (a checkpoint's
    stored config, a dict or ``ModelConfig``), or None. Fine-tuning one of our models without a
    preset named takes the recipe it was made with: the shipped ``cpu_lite0`` model's ImageNet
    features then train at that recipe's lower backbone rate, not at ``cpu_fast``'s. The dense
    thin head (and its context blocks) is an add-on to a preset's model, not another recipe: it is
    left out of the match."""
    from core.model.config import ModelConfig, get_preset
    from core.training.config import PRESETS

    wanted = ModelConfig.from_dict(model_config)
    for name, recipe in PRESETS.items():
        try:
            if get_preset(recipe.model_preset).replace(thin_head=wanted.thin_head,
                                                         thin_head_context=wanted.thin_head_context) == wanted:
                return name
        except ValueError:  # a training preset naming no model preset (none today)
            continue
    return None
