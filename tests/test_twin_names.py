"""Each compiled loop of a recurrent Numba twin names, first in its docstring, the reference
function it replaces (`lstm.forward_loop` for numba_lstm.forward_loop_into), so a reader can put
the two side by side; minis2s.kernels' docstring promises it. A loop added or renamed without it,
or a reference renamed under it, fails here."""

import importlib

import pytest

CELLS = ("rnn", "lstm", "gru")


def compiled_loops(cell):
    """(name, docstring) of every `*_into` loop of kernels/numba_<cell>.py."""
    twin = importlib.import_module(f"minis2s.kernels.numba_{cell}")
    return [
        (name, obj.py_func.__doc__ or "")
        for name, obj in vars(twin).items()
        if name.endswith("_into") and hasattr(obj, "py_func")
    ]


@pytest.mark.parametrize("cell", CELLS)
def test_each_compiled_loop_names_its_reference(cell):
    reference = importlib.import_module(f"minis2s.layers.{cell}")
    loops = compiled_loops(cell)
    assert {name for name, _ in loops} == {
        "forward_loop_into",
        "backward_loop_into",
        "step_forward_into",
        "step_backward_data_into",
    }
    for name, doc in loops:
        function = name.removesuffix("_into")
        assert hasattr(reference, function), f"{cell}.{function} is gone"
        first_sentence = doc.split(".\n")[0].split(". ")[0]
        assert f"`{cell}.{function}`" in first_sentence, f"numba_{cell}.{name}: {first_sentence!r}"
