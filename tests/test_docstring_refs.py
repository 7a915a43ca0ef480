"""Every single name in backticks in minis2s/'s docstrings and comments (`zero_padding`,
`step_params`, `Uniforms`, `mask_checked`) is a name the package's code has: a module's
attribute, a module, a class's attribute or field, or an identifier its code uses (an
argument, a variable, an attribute, a keyword, a string key). A function renamed or
removed while a docstring still sends a reader to it fails here.

test_references.py checks the dotted names (`decoder.step_params`) and the file paths; this
file checks the names written alone, which it leaves out. The test is loose by design (a name
the code uses anywhere passes), so it catches a name that is gone, not one that moved.

Run it as a script to list what it finds: python tests/test_docstring_refs.py
"""

from __future__ import annotations

import ast
import builtins
import functools
import inspect
import keyword
import re

import numpy as np

from tests.test_references import ROOT, Text, _index, texts

SINGLE = re.compile(r"(?<![`\w])`([A-Za-z_]\w*)(?:\(\))?`(?![`\w])")

# names that are not this package's, each with why it is named
ELSEWHERE = {
    "skip_file_prefixes": "_warn.py: Python 3.12's keyword of warnings.warn",
    "load_model": "fine_tune.py: JoeyNMT's option, named as a peer's",
    "reset_optimizer": "fine_tune.py: the same",
    "reset_scheduler": "fine_tune.py: the same",
    "reset_best_ckpt": "fine_tune.py: the same",
    "scipy_cblas_sgemm64_": "kernels/blas.py: a symbol of NumPy's OpenBLAS",
    "cblas_sgemm64_": "kernels/blas.py: the same under NumPy 1.x",
    "tanhf": "kernels/fast_math.py: libm's function",
    "expf": "kernels/fast_math.py: the same",
    "padding_idx": "layers/embedding.py: nn.Embedding's argument",
}


def _code_names(tree: ast.AST) -> set[str]:
    """Every identifier a module's code uses: names, arguments, attributes, keywords, and
    strings that are one identifier (dict keys, field names), docstrings left out: a name a
    docstring alone holds is what the check looks for."""
    names = set()
    prose = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}
    for n in ast.walk(tree):
        if isinstance(n, ast.Name):
            names.add(n.id)
        elif isinstance(n, ast.arg):
            names.add(n.arg)
        elif isinstance(n, ast.Attribute):
            names.add(n.attr)
        elif isinstance(n, ast.keyword) and n.arg:
            names.add(n.arg)
        elif isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(n.name)
        elif isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in prose:
            if n.value.isidentifier():
                names.add(n.value)
    return names


@functools.cache
def known() -> frozenset[str]:
    """The names the package has: its modules and their attributes, its classes' attributes
    and fields, and every identifier its code uses."""
    index = _index()
    out = {name.rsplit(".", 1)[-1] for name in index.modules}
    for module in index.modules.values():
        out |= set(vars(module))
        for v in vars(module).values():
            if inspect.isclass(v):
                out |= set(dir(v)) | set(getattr(v, "_fields", ()))
    for path in (ROOT / "minis2s").rglob("*.py"):
        out |= _code_names(ast.parse(path.read_text(encoding="utf-8")))
    return frozenset(out)


def stale_single_names(items: list[Text], names: frozenset[str]) -> list[str]:
    """What no code has, as "where:line: name"; Python's and NumPy's own names pass."""
    out = []
    for t in items:
        for m in SINGLE.finditer(t.text):
            name = m.group(1)
            if name in names or name in ELSEWHERE or keyword.iskeyword(name):
                continue
            if hasattr(builtins, name) or hasattr(np, name):
                continue
            out.append(f"{t.at(m.start())}: {name}")
    return out


def _package_texts() -> list[Text]:
    return [t for t in texts() if t.where.startswith("minis2s/")]


def test_every_single_name_in_backticks_is_the_package_s():
    assert stale_single_names(_package_texts(), known()) == []


def test_every_entry_of_elsewhere_is_used():
    """An entry no text names any more goes, so the list stays short and each reason current."""
    named = {m.group(1) for t in _package_texts() for m in SINGLE.finditer(t.text)}
    assert sorted(set(ELSEWHERE) - named) == []


def test_the_check_finds_a_name_that_is_gone():
    text = "the loop is `decode_one_each`; its keys come from `attention_keys_once`,\n"
    text += "and `zero_padding` (``not_code``) keeps NaN out; `np` and `len` are not ours."
    text = Text("x.py", 7, text, "minis2s.x")
    assert stale_single_names([text], known()) == ["x.py:7: attention_keys_once"]


if __name__ == "__main__":
    for line in stale_single_names(_package_texts(), known()):
        print(line)
