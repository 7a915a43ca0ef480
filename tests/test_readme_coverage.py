"""The README against the code: every option of every subcommand is named in it, every option it
names exists, and every in-page link `[text](#anchor)` leads to a heading (GitHub's anchors)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from minis2s.cli_parser import build_parser

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")

# options of other tools that the README names beside ours (fairseq's)
OTHER_TOOLS = {"--keep-interval-updates", "--path", "--restore-file", "--update-freq",
               "--validate-interval-updates", "--reset-"}  # fmt: skip
# the benchmark scripts' options (benchmarks/common.py, compare_checkouts.py), which no
# subcommand has: read from their add_argument calls, so a README typo still fails
BENCHMARKS = Path(__file__).parent.parent / "benchmarks"
ADD_ARGUMENT = r'add_argument\(\s*"(--[a-z][a-z0-9-]*)"'
BENCH_OPTIONS = {
    o for f in BENCHMARKS.glob("*.py") for o in re.findall(ADD_ARGUMENT, f.read_text())
}


def _options() -> dict[str, set[str]]:
    """{subcommand (or "" for minis2s itself): its option strings, --help left out}."""
    parser = build_parser()
    out = {"": {o for a in parser._actions for o in a.option_strings}}
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for name, p in sub.choices.items():
        out[name] = {o for a in p._actions for o in a.option_strings}
    return {k: v - {"-h", "--help"} for k, v in out.items()}


def _named(option: str) -> bool:
    return re.search(re.escape(option) + r"(?![\w-])", README) is not None


def test_every_option_of_every_subcommand_is_named_in_the_readme():
    missing = {cmd or "minis2s": sorted(o for o in opts if not _named(o))
               for cmd, opts in _options().items()}  # fmt: skip
    assert {k: v for k, v in missing.items() if v} == {}


def test_every_option_the_readme_names_exists():
    known = set().union(*_options().values()) | OTHER_TOOLS | BENCH_OPTIONS | {"--help"}
    named = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", README))
    assert sorted(named - known) == []


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lowercase, punctuation but - and _ dropped, spaces -."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_in_page_link_leads_to_a_heading():
    headings, fenced = [], False
    for line in README.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"#{1,6} ", line):
            headings.append(line.lstrip("#"))
    anchors = {_slug(h) for h in headings}
    links = set(re.findall(r"\]\(#([^)\s]+)\)", README))
    assert links, "the README links to its own sections"
    assert sorted(links - anchors) == []


def test_slug_follows_github():
    assert _slug(" When OPENBLAS_CORETYPE holds OpenBLAS back") == (
        "when-openblas_coretype-holds-openblas-back"
    )
    assert _slug(" The cupy backend (GPU)") == "the-cupy-backend-gpu"
