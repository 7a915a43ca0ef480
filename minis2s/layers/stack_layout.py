"""The parameter layout of a stack of recurrent layers: the names "l{k}.{fwd|bwd}.{param}", and
(L, directions, H, D) read from those names and their shapes, with every layer checked to be
complete and of consistent shapes (interop.py checks a PyTorch state dict with it too).

Parameters, G = 1 (rnn), 3 (gru), 4 (lstm) row blocks of gates:
    "l{k}.fwd.W_ih" (G*H, D) for k = 0, (G*H, dirs*H) for k > 0
    "l{k}.fwd.W_hh" (G*H, H),  "l{k}.fwd.b_ih" (G*H,),  "l{k}.fwd.b_hh" (G*H,)
    "l{k}.bwd.*" alike when bidirectional.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from minis2s import validate
from minis2s.layers._recurrent import PARAMS

WHERE = "stack"
DIRECTIONS = ("fwd", "bwd")
_KEY = re.compile(r"l(0|[1-9]\d*)\.(fwd|bwd)\.(W_ih|W_hh|b_ih|b_hh)")


class Layout(NamedTuple):
    num_layers: int  # L
    directions: tuple[str, ...]  # ("fwd",) or ("fwd", "bwd")
    H: int
    D: int  # input size of layer 0


def key(k: int, d: str, name: str) -> str:
    """The parameter name "l{k}.{d}.{name}"."""
    return f"l{k}.{d}.{name}"


def layout(p: dict[str, Any], gates: int | None = None, where: str = WHERE) -> Layout:
    """Read (L, directions, H, D) from the keys and shapes of stack parameters `p`."""
    if not isinstance(p, Mapping):  # p.items() was an AttributeError
        raise ValueError(
            f"{where}: p is {type(p).__name__}, not a dict; give the stack's parameters by "
            "name, as stack.init makes them"
        )
    entries = {}
    for name, v in p.items():
        found = _KEY.fullmatch(name)
        if found is None:
            raise ValueError(
                f"{where}: unexpected parameter {name!r}; stack parameters are named "
                "l{k}.{fwd|bwd}.{W_ih|W_hh|b_ih|b_hh}"
            )
        entries[int(found[1]), found[2], found[3]] = v
    return check_layout(entries, key, gates, where)


def check_layout(
    entries: dict[tuple[int, str, str], Any],
    name_of: Callable[[int, str, str], str],
    gates: int | None = None,
    where: str = WHERE,
) -> Layout:
    """Check that {(k, direction, param): array} is a complete stack with consistent shapes.

    Every layer 0..L-1 must hold all of W_ih, W_hh, b_ih, b_hh in the same directions (fwd, or
    fwd and bwd). `gates` is G, or None to read it from W_hh. Errors name keys by `name_of`.
    """
    if not entries:
        raise ValueError(f"{where}: no recurrent parameters given")
    L = 1 + max(k for k, _, _ in entries)
    dirs = DIRECTIONS if any(d == "bwd" for _, d, _ in entries) else DIRECTIONS[:1]
    for k in range(L):
        for d in dirs:
            for name in PARAMS:
                if (k, d, name) not in entries:
                    raise ValueError(
                        f"{where}: missing {name_of(k, d, name)}: found layers up to {L - 1} "
                        f"and directions {dirs}; every layer needs {', '.join(PARAMS)} in each"
                    )
    W_hh, W_ih = entries[0, "fwd", "W_hh"], entries[0, "fwd", "W_ih"]
    validate.shape(where, name_of(0, "fwd", "W_hh"), W_hh, (None, None), "G*H, H")
    validate.shape(where, name_of(0, "fwd", "W_ih"), W_ih, (None, None), "G*H, D")
    (GH, H), D = W_hh.shape, W_ih.shape[1]
    G = gates or GH // max(H, 1)
    if gates is None and (G * H != GH or G not in (1, 3, 4)):
        raise ValueError(
            f"{where}: {name_of(0, 'fwd', 'W_hh')} has shape {W_hh.shape}; its rows must be "
            "1, 3 or 4 times its columns H (rnn, gru, lstm)"
        )
    for (k, d, name), v in entries.items():
        D_k, D_letter = (D, "D") if k == 0 else (len(dirs) * H, "dirs*H")
        want = {"W_ih": ((G * H, D_k), f"G*H, {D_letter}"), "W_hh": ((G * H, H), "G*H, H")}
        shape, letters = want.get(name, ((G * H,), "G*H"))
        validate.shape(where, name_of(k, d, name), v, shape, f"{letters}; G = {G}")
    return Layout(L, dirs, H, D)
