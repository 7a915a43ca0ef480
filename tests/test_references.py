"""Every place the docs send a reader exists: in README.md, benchmarks/README.md, and every
docstring and comment under minis2s/, examples/ and benchmarks/,

- each file path (`minis2s/models/decoder.py`, `models/decoder.py`, `kernels/step_weights.py`,
  `decoder_step.py`) names a file of this repository (relative to it, to minis2s/, or by name);
- each dotted name in backticks (`minis2s.data.batching.lazy_batches`, `batching.lazy_batches`,
  `Trainer.epoch_batches`), each one outside backticks that starts with a module's name
  (pipeline.train, decoder.step_forward), and each written after a module's path
  (models/params.embedding_of), is an attribute that is there: a module's, a class's
  (methods, properties, fields, and what its methods assign to self.NAME) or a submodule.

A relative name is looked up in the namespace of the file it is written in first (its imports:
api.py's `checks` is _api_checks), then in every module whose dotted name ends with its first
parts (`batching`, `data.batching`), then among the package's classes and functions by name
(`Trainer`); it passes if one of them has the rest. Names that are not this package's (NumPy's,
PyTorch's, a variable's) are in the short lists below, each with its reason.

Run it as a script to list what it finds: python tests/test_references.py
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import io
import pkgutil
import re
import tokenize
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import minis2s

ROOT = Path(__file__).resolve().parent.parent
MARKDOWN = ("README.md", "benchmarks/README.md")
SOURCES = ("minis2s", "examples", "benchmarks")

# paths named that are not this repository's files, each with why it is named
PATHS_ELSEWHERE = {
    "tools/average_models.py": "OpenNMT-py's checkpoint averaging, beside `minis2s average`",
    "scripts/average_checkpoints.py": "fairseq's checkpoint averaging, likewise",
    "tests/test_my_layer.py": "the file the README asks a reader to write, for their own layer",
}

# first parts of names that are other libraries', not imported here
NOT_IMPORTED = {
    "torch": "PyTorch: optional, and seconds to import",
    "nn": "torch.nn, written as PyTorch's documentation writes it (nn.LSTM)",
    "cupy": "CuPy: needs CUDA",
    "fcntl": "Unix only (run_lock's flock): not importable on Windows",
}

# first parts that stand for an object of a known type: where its attributes are looked up
STANDS_FOR = {
    "np": "numpy",
    "os": "os",
    "shutil": "shutil",  # shutil.copytree, which average([one]) names to copy one checkpoint
    "warnings": "warnings",
    "maximum": "numpy.maximum",  # a ufunc's method CuPy lacks (maximum.reduce)
    "rng": "numpy.random.Generator",  # a seeded NumPy generator
    "Generator": "numpy.random.Generator",
    "model": "minis2s.models.seq2seq.Seq2Seq",  # the model a decoder steps
    "tr": "minis2s.api.Translator",  # as the README's examples name one
    "tcfg": "minis2s.train.config.TrainConfig",  # the training config, as the trainer names it
    "t": "minis2s.train.config.TrainConfig",  # the same in train/config.py's own methods
    "data": "minis2s.data.loading.Data",  # load_data's result (also the subpackage minis2s.data)
    "vocab": "minis2s.data.vocab.Vocab",  # a Vocab (also the module data/vocab.py)
    "schedule": "minis2s.train.schedule.Schedule",  # a schedule (also train/schedule.py)
}

# whole names that are not attributes, each with why
NOT_ATTRIBUTES = {
    "a.shape": "validate.py: any array's shape",
    "cache.xhat": "the README's example layer of the reader's own (layer norm), not ours",
    "bridge.W": "models/bridge.py: a parameter's key in model.params (bridge.W, bridge.b)",
    "lstm.state_dict": "interop.py's example: lstm is a torch.nn.LSTM there",
    "lstm.load_state_dict": "the same",
}
# first parts of parameter keys (model.params, `model.summary()`), not attributes
PARAMETER_KEYS = {"enc", "dec", "out"}
# keys of a run's config in state.json (run_config.py writes them), written config.KEY or KEY
STATE_JSON = {"init_from", "data.source", "data.normalization", "data.bpe_merges",
              "data.longest_source"}  # fmt: skip

# a name that ends like a file's name is a file, not an attribute (`log.jsonl`, `state.json`)
FILE_ENDINGS = {"py", "json", "jsonl", "npz", "lock", "txt", "tsv", "md", "sh", "toml", "gz"}

NEWLINE = "\n"
PATH = re.compile(r"(?<![\w./-])((?:[\w.-]+/)*[\w-]+\.py)\b")
BACKTICKED = re.compile(r"`+([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)(?:\(\))?`+")
# a module's attribute named after its path: models/params.embedding_of (not a file's name)
PATH_DOTTED = re.compile(r"(?<![\w./-])((?:[A-Za-z_]\w*/)+[A-Za-z_]\w*\.(?!py\b)[A-Za-z_]\w*)")
BARE = re.compile(r"(?<![\w.`/\"'-])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)(?![\w`/\"'-])")


class Text(NamedTuple):
    """A stretch of documentation: where it is, its first line's number, the module whose
    namespace its relative names are looked up in first, and whether its names are checked."""

    where: str
    line: int
    text: str
    module: str | None
    names: bool = True

    def at(self, offset: int) -> str:
        return f"{self.where}:{self.line + self.text.count(NEWLINE, 0, offset)}"


def _markdown(path: str) -> Iterator[Text]:
    """A Markdown file's text, its fenced code blocks blanked for names (they are code, run by
    test_readme) but kept for paths."""
    lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
    fenced, prose, code = False, [], []
    for line in lines:
        fence = line.startswith("```")
        fenced ^= fence
        (code if fenced or fence else prose).append(line)
        (prose if fenced or fence else code).append("")
    yield Text(path, 1, "\n".join(prose), None)
    yield Text(path, 1, "\n".join(code), None, names=False)


def _python(path: Path) -> Iterator[Text]:
    """A Python file's comments and docstrings."""
    src = path.read_text(encoding="utf-8")
    rel = path.relative_to(ROOT).as_posix()
    module = (
        rel[:-3].replace("/", ".").removesuffix(".__init__") if rel.startswith("minis2s/") else None
    )
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        if tok.type == tokenize.COMMENT:
            yield Text(rel, tok.start[0], tok.string, module)
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            doc = node.body[0] if node.body else None
            if isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant):
                if isinstance(doc.value.value, str):
                    yield Text(rel, doc.lineno, doc.value.value, module)


def texts() -> Iterator[Text]:
    for path in MARKDOWN:
        yield from _markdown(path)
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield from _python(path)


def _files() -> list[str]:
    skip = {".venv", "__pycache__", ".git", "build"}
    return [p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*.py") if not skip & set(p.parts)]


def stale_paths(items: list[Text]) -> list[str]:
    files = _files()
    names = {f.rsplit("/", 1)[-1] for f in files}
    out = []
    for t in items:
        for m in PATH.finditer(t.text):
            p = m.group(1)
            found = (
                p in names if "/" not in p else any(f == p or f.endswith("/" + p) for f in files)
            )
            if not found and p not in PATHS_ELSEWHERE:
                out.append(f"{t.at(m.start())}: no file {p}")
    return out


def _modules() -> dict[str, object]:
    mods = {"minis2s": minis2s}
    for info in pkgutil.walk_packages(minis2s.__path__, "minis2s."):
        if not info.name.endswith("__main__"):  # importing it runs the command line
            mods[info.name] = importlib.import_module(info.name)
    return mods


class Index:
    """Where a relative name's first parts may point: modules by their dotted names' endings,
    the package's classes and functions by name."""

    def __init__(self) -> None:
        self.modules = _modules()
        self.by_ending: dict[str, list] = defaultdict(list)
        self.defs: dict[str, list] = defaultdict(list)
        for name, m in self.modules.items():
            parts = name.split(".")
            for i in range(len(parts)):
                self.by_ending[".".join(parts[i:])].append(m)
            for k, v in vars(m).items():
                if (inspect.isclass(v) or inspect.isfunction(v)) and v.__module__ == name:
                    self.defs[k].append(v)

    def starts(self, parts: list[str], module: str | None) -> list[tuple[object, list[str]]]:
        """(object, the parts still to look up in it) for every reading of the first parts."""
        out = []
        if module in self.modules and hasattr(self.modules[module], parts[0]):
            out.append((getattr(self.modules[module], parts[0]), parts[1:]))
        for i in range(len(parts) - 1, 0, -1):
            out += [(m, parts[i:]) for m in self.by_ending.get(".".join(parts[:i]), [])]
        out += [(d, parts[1:]) for d in self.defs.get(parts[0], [])]
        if parts[0] in STANDS_FOR:
            out.append((_import(STANDS_FOR[parts[0]]), parts[1:]))
        return out


def _import(dotted: str) -> object:
    module, _, rest = dotted.partition(".")
    obj = importlib.import_module(module)
    for part in rest.split(".") if rest else []:
        obj = getattr(obj, part)
    return obj


def _has(obj: object, name: str) -> bool:
    """obj.name exists: an attribute, a submodule, or a class's field or self.name."""
    if hasattr(obj, name):
        return True
    if inspect.ismodule(obj):
        try:
            importlib.import_module(f"{obj.__name__}.{name}")
            return True
        except ImportError:
            return False
    if not inspect.isclass(obj):
        return False
    for cls in obj.__mro__:
        if name in getattr(cls, "__dataclass_fields__", {}) or name in getattr(cls, "_fields", ()):
            return True
        try:
            src = inspect.getsource(cls)
        except (OSError, TypeError):
            continue
        if re.search(rf"self\.{name}\b\s*(:[^=\n]*)?=|^\s+{name}\s*:", src, re.M):
            return True
    return False


def _resolves(obj: object, rest: list[str]) -> bool:
    for part in rest:
        if not _has(obj, part):
            return False
        obj = getattr(obj, part, None)
        if obj is None or inspect.isdatadescriptor(obj):  # an instance's: its type not known
            return True
    return True


def _allowed(name: str) -> str | None:
    """The entry of the lists above that lets `name` pass, or None."""
    first, last, key = name.split(".")[0], name.rsplit(".", 1)[-1], name.removeprefix("config.")
    for entry, listed in ((name, NOT_ATTRIBUTES), (key, STATE_JSON), (first, NOT_IMPORTED),
                          (first, PARAMETER_KEYS), (last, FILE_ENDINGS)):  # fmt: skip
        if entry in listed:
            return entry
    return None


def stale_names(items: list[Text], index: Index, used: set[str] | None = None) -> list[str]:
    """What is not there, as "where:line: name: why"; `used` gets the list entries used."""
    used = set() if used is None else used
    out = []
    for t in items:
        if not t.names:
            continue
        found = [(m, True) for m in BACKTICKED.finditer(t.text)]
        found += [(m, False) for m in BARE.finditer(t.text)]
        found += [(m, False) for m in PATH_DOTTED.finditer(t.text)]
        for m, backticked in found:
            name = m.group(1).replace("/", ".")
            parts = name.split(".")
            if entry := _allowed(name):
                used.add(entry)
                continue
            if not backticked and parts[0] not in index.by_ending and parts[0] != "minis2s":
                continue  # prose, not a module's name: e.g., i.e., a variable's attribute
            starts = index.starts(parts, t.module)
            used.add(parts[0])  # (as STANDS_FOR's)
            if not starts:
                out.append(f"{t.at(m.start())}: {name}: nothing of that name (list it above?)")
            elif not any(_resolves(obj, rest) for obj, rest in starts):
                out.append(f"{t.at(m.start())}: {name}: not there")
    return out


@functools.cache
def _index() -> Index:
    return Index()


@functools.cache
def _checked() -> tuple[list[str], list[str], set[str], set[str]]:
    """(stale paths, stale names, the list entries used, the paths named) of every text."""
    everything, used = list(texts()), set()
    names = stale_names(everything, _index(), used)
    named = {m.group(1) for t in everything for m in PATH.finditer(t.text)}
    return stale_paths(everything), names, used, named


def test_every_file_path_the_docs_name_exists():
    assert _checked()[0] == []


def test_every_dotted_name_the_docs_name_is_there():
    assert _checked()[1] == []


def test_every_entry_of_the_lists_is_used():
    """An entry no text needs any more goes, so the lists stay short and each reason current."""
    _, _, used, named = _checked()
    unused = {
        "PATHS_ELSEWHERE": set(PATHS_ELSEWHERE) - named,
        **{k: set(v) - used for k, v in (("NOT_IMPORTED", NOT_IMPORTED),
           ("STANDS_FOR", STANDS_FOR), ("NOT_ATTRIBUTES", NOT_ATTRIBUTES),
           ("PARAMETER_KEYS", PARAMETER_KEYS), ("STATE_JSON", STATE_JSON),
           ("FILE_ENDINGS", FILE_ENDINGS))},
    }  # fmt: skip
    assert {k: sorted(v) for k, v in unused.items() if v} == {}


def test_the_checks_find_a_stale_path_and_stale_names():
    text = "see `trainer._score_old` and models/decoder_old.py;\n"
    text += "pipeline.train_old, `Trainer.nothing`, `nowhere.thing`, data/batching.lazy_batch"
    text = Text("x.py", 10, text, "minis2s.x")
    assert stale_paths([text]) == ["x.py:10: no file models/decoder_old.py"]
    assert stale_names([text], _index()) == [
        "x.py:10: trainer._score_old: not there",
        "x.py:11: Trainer.nothing: not there",
        "x.py:11: nowhere.thing: nothing of that name (list it above?)",
        "x.py:11: pipeline.train_old: not there",
        "x.py:11: data.batching.lazy_batch: not there",
    ]


def test_the_checks_pass_what_is_there():
    text = "`minis2s.data.batching.lazy_batches`, `batching.LazyBatches`, `Trainer.epoch_batches`,"
    text += " decoder.step_forward, models/decoder_step.py, `np.add.at`, `tr.src_vocab`,"
    text += " layers/_gemm.rows"
    text = Text("x.py", 1, text + ", `Data.src_vocab`", "minis2s.x")
    assert stale_paths([text]) == [] and stale_names([text], _index()) == []


if __name__ == "__main__":
    for line in _checked()[0] + _checked()[1]:
        print(line)
