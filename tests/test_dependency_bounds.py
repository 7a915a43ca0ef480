"""pyproject.toml's lower bounds are what was tested: the README's install note names, for every
runtime and test dependency, the version the suite passed with at its bound, and the lowest
Python. Raising a bound or adding a dependency without testing it there fails here."""

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
PYPROJECT = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")


def lower_bounds(key: str) -> dict[str, str]:
    """{name: X} of each "name>=X" in pyproject.toml's list `key = [...]` (a regex: Python
    3.10 has no tomllib)."""
    block = re.search(rf"^{key} = \[(.*?)\]", PYPROJECT, re.M | re.S).group(1)
    return dict(re.findall(r'"([A-Za-z0-9_.-]+)>=([0-9.]+)', block))


def test_the_readme_names_the_versions_tested_at_every_lower_bound():
    note = " ".join(README.split("Tested at the lower bounds", 1)[1].split("\n\n")[0].split())
    lowest = note.split(";")[0]
    bounds = {**lower_bounds("dependencies"), **lower_bounds("test")}
    assert {"numpy", "numba", "scipy", "tqdm", "pytest", "hypothesis"} <= set(bounds)
    for name, bound in bounds.items():
        assert re.search(rf"\b{re.escape(name)} {re.escape(bound)}(\.\d+)*\b", lowest), name
    python = re.search(r'^requires-python = ">=([0-9.]+)"', PYPROJECT, re.M).group(1)
    assert re.search(rf"\bPython {re.escape(python)}(\.\d+)*\b", lowest)
