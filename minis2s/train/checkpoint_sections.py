"""What `checkpoint.load` checks of a state.json before any reader takes its sections: each is
of the kind minis2s writes (the config, its model/train/data sections, the data's options and
source, the trainer state: dicts; the dtype: float32 or float64). A file edited by hand, or
written by another program, is refused naming it, where each reader took a section for a dict
and failed inside (`'int' object is not iterable`, np.dtype('')'s TypeError).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def check_sections(file: Path, state: dict[str, Any]) -> None:
    """ValueError naming state.json where its config, or a section of it that a run writes
    (model, train, data), or its trainer_state is not a dict (null: an average's): each reader
    took it for one, and failed inside (`'int' object is not iterable`)."""
    config = state["config"]
    sections = {"config": config}
    if state.get("trainer_state") is not None:
        sections["trainer_state"] = state["trainer_state"]
    if isinstance(config, dict):
        sections |= {f"config['{k}']": config[k] for k in ("model", "train", "data") if k in config}
        data = config.get("data")
        for k in ("options", "source"):  # where the data was read: null in a Data built by hand
            if isinstance(data, dict) and data.get(k, {}) is not None:
                sections[f"config['data'][{k!r}]"] = data.get(k, {})
    for name, section in sections.items():
        if not isinstance(section, dict):
            raise ValueError(
                f"{file}: its {name} is {section!r:.40}, not a dict as minis2s writes it; was "
                "the file edited, or written by another program?"
            )
    if isinstance(config, dict) and "dtype" in config and not _a_float(config["dtype"]):
        raise ValueError(  # average's and --resume's np.dtype('') was a TypeError
            f"{file.parent}: state.json says dtype {str(config['dtype']):.40}; minis2s models are "
            "float32 or float64 (was the file edited, or written by another program?)"
        )


def _a_float(said: Any) -> bool:
    """Whether `said` names float32 or float64, as np.dtype reads it."""
    try:
        return np.dtype(said) in (np.float32, np.float64)
    except TypeError:
        return False
