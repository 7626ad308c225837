"""Which weights serve which task, and :func:`load_model`.

Each task has a default (interactive) model and, where trained, a ``noea`` variant trained
with energy attention bypassed, for a fair w/ vs w/o EA comparison. Denoising also has a
``gaussian`` variant: the same network fine-tuned for plain Gaussian noise of unknown σ
(clipped to [0, 1], unlike the AWGN benchmarks' noise), where the default model is trained
for realistic camera noise, and its own w/o-EA partner, ``gaussian-noea``
(:data:`NOEA_PARTNERS`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from .devices import resolve_device, resolve_precision
from .errors import NoWeightsError, WeightsError, WeightsNameError
from .network import DRCNet, ModelConfig
from .weights import (
    WEIGHT_SUFFIXES,
    build_model,
    config_from_metadata,
    file_problem,
    read_metadata,
)

TASKS = ("derain", "denoise", "deblur")
VARIANTS = ("default", "noea", "gaussian", "gaussian-noea")
# variants that only some tasks have
VARIANT_TASKS = {"gaussian": ("denoise",), "gaussian-noea": ("denoise",)}
VARIANT_DOC = {
    "default": "the task's interactive model",
    "noea": "trained with energy attention bypassed (for the w/ vs w/o EA comparison)",
    "gaussian": "denoising fine-tuned for plain Gaussian noise of unknown σ ∈ [0, 55]",
    "gaussian-noea": "the gaussian model's partner trained with energy attention bypassed",
}
# A model and its w/o-EA partner: trained side by side from the same weights, one with energy
# attention bypassed, so the w/ vs w/o EA comparison of that model is fair.
NOEA_PARTNERS = {"default": "noea", "gaussian": "gaussian-noea"}

def _resources() -> Path:
    """The bundled weights, samples and icon: ``resources/`` beside the package in a clone
    (an editable install too), ``drcnet/resources/`` in an installed wheel."""
    here = Path(__file__).resolve().parent
    installed = here / "resources"
    return installed if installed.is_dir() else here.parent / "resources"


RESOURCES = _resources()
# DRCNET_WEIGHTS_DIR: another folder of weight files named as the shipped ones.
WEIGHTS_DIR = Path(os.environ.get("DRCNET_WEIGHTS_DIR", RESOURCES / "weights"))


@dataclass(frozen=True)
class WeightSpec:
    """A shipped weight file for one task and variant."""

    task: str
    variant: str
    path: Path

    @property
    def available(self) -> bool:
        return self.path.is_file()


def is_noea(variant: str) -> bool:
    """Whether ``variant`` names a model trained with energy attention bypassed (it serves
    the EA comparison of its partner, :data:`NOEA_PARTNERS`, and runs with EA off)."""
    return variant in NOEA_PARTNERS.values()


def noea_partner(task: str, variant: str) -> str | None:
    """The variant trained beside ``variant`` with energy attention bypassed, where ``task``
    can have one (installed or not); None otherwise."""
    partner = NOEA_PARTNERS.get(variant)
    return partner if partner is not None and has_variant(task, partner) else None


def has_variant(task: str, variant: str) -> bool:
    """Whether ``variant`` is one that ``task`` can have (installed or not)."""
    return variant in VARIANTS and task in VARIANT_TASKS.get(variant, TASKS)


def check_variant(task: str, variant: str) -> None:
    """Refuse an unknown task or variant, or a variant that ``task`` does not have."""
    if task not in TASKS:
        raise WeightsNameError(f"unknown task '{task}'; choose one of {', '.join(TASKS)}")
    if variant not in VARIANTS:
        raise WeightsNameError(f"unknown variant '{variant}'; choose one of {', '.join(VARIANTS)}")
    if not has_variant(task, variant):
        raise WeightsNameError(f"the {variant} variant exists only for "
                           f"{', '.join(VARIANT_TASKS[variant])}, not {task}")


def weight_spec(task: str, variant: str = "default") -> WeightSpec:
    """The registry entry for ``task`` (derain, denoise, deblur) and ``variant``."""
    check_variant(task, variant)
    name = f"{task}.safetensors" if variant == "default" else f"{task}-{variant}.safetensors"
    return WeightSpec(task, variant, WEIGHTS_DIR / name)


def stored_config(task: str, variant: str = "default",
                  path: str | os.PathLike[str] | None = None) -> ModelConfig | None:
    """The configuration (and so the knobs ``t``, ``delta``, ``ea``) a shipped weight file
    stores, or the file ``path`` if given, read from its metadata without loading a tensor;
    None if the file is missing, unreadable or holds none."""
    path = Path(path) if path is not None else weight_spec(task, variant).path
    if not path.is_file():
        return None
    try:
        return config_from_metadata(read_metadata(path))
    except (OSError, ValueError, TypeError, WeightsError):
        return None


def trained_task(path: str | os.PathLike[str]) -> str | None:
    """The task a weight file says it was trained for (its metadata's ``task``), or None if
    it names none of :data:`TASKS`. Reads the header only.

    Raises:
        WeightsError: the file cannot be read.
    """
    task = read_metadata(path).get("task", "")
    return task if task in TASKS else None


def task_note(path: str | os.PathLike[str], used_for: str) -> str | None:
    """What to tell a user restoring ``used_for`` with a weight file that names no task of
    :data:`TASKS` (None when it names one). Reads the header only."""
    named = str(read_metadata(path).get("task", "")).strip()
    if named in TASKS:
        return None
    what = ("names no task" if not named else
            f"names the task {named!r}, which is none of {', '.join(TASKS)}")
    return f"{Path(path).name} {what}; restoring {used_for} with it"


def check_weight_file(path: str | os.PathLike[str]) -> str | None:
    """Refuse, from its header alone, a file that cannot be a weight file: missing, an
    unknown suffix, unreadable, or a malformed stored configuration. Returns the task it
    names (None if none).

    Raises:
        WeightsError: saying which.
    """
    p = Path(path)
    if (problem := file_problem(p)) is not None:
        raise WeightsError(problem)
    if p.suffix.lower() not in WEIGHT_SUFFIXES:
        raise WeightsError(f"{p.name} is not a weight file (one of {', '.join(WEIGHT_SUFFIXES)})")
    config_from_metadata(read_metadata(p))
    return trained_task(p)


def load_model(
    task: str,
    device: str | torch.device = "auto",
    variant: str = "default",
    weights: str | os.PathLike[str] | None = None,
    precision: str = "fp32",
) -> DRCNet:
    """The shipped model for ``task``, in eval mode on ``device``, ready for inference.

    Args:
        task: ``derain``, ``denoise`` or ``deblur``.
        device: ``auto|cpu|cuda|cuda:N|mps``.
        variant: ``default``; ``noea`` for the model trained without energy attention;
            ``gaussian`` (denoise) for the model tuned for plain Gaussian noise;
            ``gaussian-noea`` for its partner trained without energy attention.
        weights: a weight file to use instead of the shipped one.
        precision: ``fp32``, ``fp16``, ``bf16`` or ``auto`` (bf16 on a CPU with native
            bfloat16, else fp32; see :func:`drcnet.devices.resolve_precision`).

    Raises:
        NoWeightsError: the task (or the variant) has no trained weights installed (random
            weights never run).
        WeightsError, UnsafeCheckpointError, DeviceError.
    """
    dev = resolve_device(device)
    spec = weight_spec(task, variant)  # refuses a variant the task does not have
    if weights is None:
        if not spec.available:
            # The variant named: "no trained derain weights" had said so of a missing noea
            # file while derain's default weights were there.
            what = f"{task} weights" if variant == "default" else f"{variant} weights for {task}"
            raise NoWeightsError(
                f"no trained {what} are installed ({spec.path.name} is missing); train them "
                "with `drcnet train` or pass a weight file: weights= (--weights on the "
                "command line)"
            )
        weights = spec.path
    else:
        trained_for = trained_task(weights) if file_problem(Path(weights)) is None else None
        if trained_for is not None and trained_for != task:
            raise WeightsError(f"{Path(weights).name} was trained for {trained_for}, not "
                               f"{task}; use it for {trained_for}")
    model = build_model(weights)
    if is_noea(variant):
        model.configure(ea=False)
    model.set_runtime(precision=resolve_precision(precision, dev))
    return model.to(dev)


def installed_tasks() -> dict[str, list[str]]:
    """For each task, the variants whose weight files are present."""
    return {t: [v for v in VARIANTS if has_variant(t, v) and weight_spec(t, v).available]
            for t in TASKS}
