"""Every option of every command, given a bad value, is refused with one line that names it:
`minis2s CMD: error: ...`, never a traceback, a run to the end on a value that means nothing, or
an allocation that cannot succeed."""

import argparse

import pytest

from minis2s import cli_types
from minis2s.cli import build_parser, main
from tests.refusals import refusal

TINY = [
    "--task", "reverse-digits", "--train-size", "40", "--dev-size", "10", "--epochs", "1",
    "--hidden", "8", "--emb", "8", "--quiet", "--show", "0",
]  # fmt: skip


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bad-values") / "run"
    assert main(["train", *TINY, "--out", str(out)]) == 0
    return str(out)


@pytest.mark.parametrize(
    "options,named",
    [
        (["--beam", "2", "--nbest", "3"], "--nbest 3 is more than --beam 2"),
        (["--sample", "--temperature", "0"], "argument --temperature: must be a finite number > 0"),
        (["--sample", "--temperature", "-1"], "argument --temperature: must be"),
        (["--beam", "2", "--coverage-penalty", "-1"], "argument --coverage-penalty: must be a"),
        (["--max-len-a", "-1"], "argument --max-len-a: must be a finite number >= 0"),
        (["--max-len-a", "0", "--max-len-b", "0"], "--max-len-a 0 and --max-len-b 0"),
    ],
)
def test_decoding_values_are_refused_naming_the_option(run, capsys, options, named):
    line = refusal(capsys, ["translate", "--checkpoint", run, *options, "123"])
    assert line.startswith("minis2s translate: error: ") and named in line, line


def test_a_blank_path_is_refused_as_an_empty_one(run, tmp_path, capsys, monkeypatch):
    """`--out " "` made a directory named " " where the command ran."""
    monkeypatch.chdir(tmp_path)
    line = refusal(capsys, ["vectors", "--checkpoint", run, "--out", " "])
    assert "argument --out: a blank path" in line, line
    assert list(tmp_path.iterdir()) == []


def test_a_beam_too_large_to_allocate_is_one_line_not_a_traceback(run, capsys):
    line = refusal(capsys, ["translate", "--checkpoint", run, "--beam", str(10**12), "123"])
    assert line.startswith("minis2s translate: error: out of memory"), line


@pytest.mark.parametrize("option", ["--enc-layers", "--dec-layers"])
def test_a_stack_too_deep_for_memory_is_refused_before_it_is_built(tmp_path, capsys, option):
    """10**12 layers of H = 8 were built one by one for ever (no single allocation too large)."""
    argv = ["train", *TINY, "--out", str(tmp_path / "run"), option, str(10**12)]
    line = refusal(capsys, argv)
    assert line.startswith("minis2s train: error: ") and f"{option} 1000000000000" in line, line
    assert "more than this machine's" in line and not (tmp_path / "run").exists()


# The bad values of an option, given as `--option=value` (so that "-inf" is a value too): by
# its argparse type, which must be one of these (test_every_option_type_has_bad_values); a number
# option's are every one of NUMBERS but those ALLOWED, so that a type or check made looser fails.
NUMBERS = ["-1", "0", "-0", "2.5", "nan", "inf", "-inf", "1e309", "abc", "", " "]
TEXT = {None: [""], str: [""], cli_types.text: [""], cli_types.path: ["", " "]}
INTEGERS = {int, cli_types.positive_int, cli_types.non_negative_int}
FLOATS = {float, cli_types.finite_float, cli_types.non_negative_float,
          cli_types.positive_float, cli_types.positive_fraction}  # fmt: skip
ZERO = ["0", "-0"]  # 0 = off (--clip), none (--dropout), greedy (--beam), all (--top-k), ...
ZERO_OK = ["--beam", "--top-k", "--seed", "--eval-every", "--max-len-b", "--show", "--patience",
           "--max-steps", "--keep-checkpoints", "--lr-patience", "--bpe-merges", "--dropout",
           "--label-smoothing", "--teacher-forcing", "--min-lr", "--tokens-per-batch"]  # fmt: skip
ALLOWED = {
    **dict.fromkeys(ZERO_OK, ZERO),
    **dict.fromkeys(["--clip", "--weight-decay", "--coverage-penalty", "--max-len-a"],
                    [*ZERO, "2.5"]),
    "--momentum": ZERO,  # [0, 1): at 1 or more past gradients never fade (PyTorch takes them)
    **dict.fromkeys(["--alpha", "--forget-bias"], ["-1", *ZERO, "2.5"]),
    **dict.fromkeys(["--init-scale", "--lr", "--temperature"], ["2.5"]),
}  # fmt: skip


def bad_values(option: str, kind: object) -> list[str]:
    """The values `option`, of argparse type `kind`, must refuse."""
    if kind in TEXT:
        return TEXT[kind]
    if kind in INTEGERS | FLOATS:
        extra = ["1e3"] if kind in INTEGERS else []  # an integer written as a float
        return [v for v in NUMBERS + extra if v not in ALLOWED.get(option, [])]
    return [f"no bad values for type {kind}"]


CHOICES = ["nonesuch", ""]

# Options that act only beside others (given alone, they are refused for that, not their value):
# option -> the options to add (None: to remove) to the command's base.
NEEDS = {
    "--lr-decay": {"--lr-schedule": ["exponential"]},
    "--min-lr": {"--lr-schedule": ["exponential"]},
    "--warmup-steps": {"--lr-schedule": ["warmup"]},
    "--sampling-schedule": {"--teacher-forcing": ["0.5"]},
    "--sampling-k": {"--teacher-forcing": ["0.5"], "--sampling-schedule": ["exponential"]},
    "--sampling-steps": {"--teacher-forcing": ["0.5"], "--sampling-schedule": ["linear"]},
    "--momentum": {"--optimizer": ["sgd"]},
    "--nbest": {"--beam": ["2"]},
    "--alpha": {"--beam": ["2"], "--length-penalty": ["gnmt"]},
    "--coverage-penalty": {"--beam": ["2"]},
    "--length-penalty": {"--beam": ["2"]},
    "--temperature": {"--sample": []},
    "--top-k": {"--sample": []},
    "--top-p": {"--sample": []},
    "--phrase-table": {"--replace-unk": []},
    "--split": {"--data": None, "--task": ["reverse-digits"]},
    "--last": {"--checkpoint": None, "--run": ["RUN"]},
    "--sentence": {"--log": None, "--checkpoint": ["RUN"]},
}
CORPUS_ONLY = ("--data", "--dev-data", "--test-data", "--tokenizer", "--bpe-merges",
               "--min-freq", "--max-vocab", "--max-len")  # fmt: skip


def base(command: str) -> dict[str, list[str]]:
    """A command line of `command` that runs (RUN, DATA, NEW: the tiny run, a corpus, a new
    path), as options -> values."""
    tiny = dict(zip(TINY[:12:2], ([v] for v in TINY[1:12:2]), strict=True))  # then --quiet
    return {
        "train": tiny | {"--quiet": [], "--show": ["0"], "--out": ["NEW"]},
        "translate": {"--checkpoint": ["RUN"]},
        "evaluate": {"--checkpoint": ["RUN"], "--data": ["DATA"]},
        "score": {"--checkpoint": ["RUN"], "--data": ["DATA"]},
        "average": {"--checkpoint": ["RUN/best", "--checkpoint", "RUN/last"], "--out": ["NEW"]},
        "gradcheck": {"--no-model": [], "--only": ["embedding"]},
        "tasks": {"--write": ["reverse-digits", "NEW"]},
        "plot": {"--log": ["RUN"], "--out": ["NEW.png"]},
        "vectors": {"--checkpoint": ["RUN"], "--out": ["NEW"]},
        "bench": {"--quick": [], "--json": ["NEW"]},
    }[command]


def cases():
    """(command, option, bad value) of every option that takes a value, from the parser."""
    parser = build_parser()
    for command, sub in [("", parser), *parser.commands.items()]:
        for action in sub._actions:
            if (
                not action.option_strings
                or action.nargs == 0
                or isinstance(action, argparse._SubParsersAction | argparse._HelpAction)
            ):
                continue
            option = action.option_strings[-1]
            if action.choices is not None:
                values = CHOICES
            elif action.nargs == 2:  # tasks --write TASK DIR
                values = ["nonesuch NEW", " NEW"]
            else:
                values = bad_values(option, action.type)
            for value in values:
                yield pytest.param(command, option, value, id=f"{command} {option}={value!r}")


def test_every_option_type_has_bad_values():
    unknown = {(c, o) for c, o, v in (p.values for p in cases()) if v.startswith("no bad values")}
    assert not unknown, f"add these options' types to bad_values: {unknown}"


def command_line(command: str, option: str, value: str, paths: dict[str, str]) -> list[str]:
    """`command` with `option` given `value`, and whatever else it needs to reach its check."""
    options = base(command or "translate")
    if command == "train" and option in CORPUS_ONLY:
        options = options | {"--task": None, "--data": ["DATA"]}
        options |= {"--tokenizer": ["bpe"]} if option == "--bpe-merges" else {}
    if command in ("evaluate", "score") and option == "--task":
        options = options | {"--data": None}
    options = options | NEEDS.get(option, {})
    argv = [] if command else [f"{option}={value}", "translate"]  # minis2s's own options
    argv += [command] if command else []
    for name, values in options.items():
        if values is not None and (name != option or not command):
            argv += [name, *values]
    if command:
        argv += [f"{option}={value}"] if " NEW" not in value else [option, *value.split(" ")]
    argv += ["123"] * (command in ("", "translate"))
    argv = [a.replace("RUN/", paths["RUN"] + "/") for a in argv]
    return [o + "=" + paths.get(v, v) if e else paths.get(a, a) for a in argv
            for o, e, v in [a.partition("=")]]  # fmt: skip


def names(command: str, option: str) -> list[str]:
    """What a message may name `option` by: itself, its field (TrainConfig's lr), its values'
    names (tasks --write TASK DIR: "unknown task")."""
    parser = build_parser()
    action = (parser.commands[command] if command else parser)._option_string_actions[option]
    metavars = action.metavar if isinstance(action.metavar, tuple) else ()
    return [option, action.dest, *(m.lower() for m in metavars)]


@pytest.mark.parametrize("command,option,value", list(cases()))
def test_every_option_refuses_a_bad_value_in_one_line_naming_it(
    run, tmp_path, capsys, monkeypatch, command, option, value
):
    data = tmp_path / "data.tsv"
    data.write_text("".join(f"{s}\t{s[::-1]}\n" for s in ("123", "4567", "89", "1020")))
    monkeypatch.chdir(tmp_path)  # where a path such as " " would be made
    paths = {"RUN": run, "DATA": str(data), "NEW": str(tmp_path / "new"),
             "NEW.png": str(tmp_path / "new.png")}  # fmt: skip
    line = refusal(capsys, command_line(command, option, value, paths))
    prog = f"minis2s {command}".strip()
    assert line.startswith(f"{prog}: error: ") or (not command and " error: " in line), line
    assert any(name in line for name in names(command, option)), f"{line!r} doesn't name {option}"
    assert "would be ignored" not in line and "has no effect" not in line, line


# What each path option names: an existing file, an existing directory (a run or checkpoint),
# either (plot --log: a log or its run), a path to make (refused where something is there), or a
# file to write (over one that is there).
KIND = {
    "--checkpoint": "dir", "--run": "dir", "--init-from": "dir", "--log": "either",
    "--data": "file", "--dev-data": "file", "--test-data": "file", "--phrase-table": "file",
    "--src-vectors": "file", "--tgt-vectors": "file",
    "--out": "new", ("plot", "--out"): "written", ("bench", "--json"): "written",
}  # fmt: skip
WRONG = {"dir": ["MISSING", "FILE"], "file": ["MISSING", "DIR"], "either": ["MISSING"],
         "new": ["FILE"], "written": ["DIR"]}  # fmt: skip


def path_cases():
    """(command, option, wrong path) of every path option, from the parser."""
    parser = build_parser()
    for command, sub in parser.commands.items():
        for action in sub._actions:
            if action.type is cli_types.path:
                option = action.option_strings[-1]
                kind = KIND.get((command, option), KIND.get(option, ""))
                for value in WRONG.get(kind, ["no KIND for this option"]):
                    yield pytest.param(command, option, value, id=f"{command} {option}={value}")


@pytest.mark.parametrize("command,option,value", list(path_cases()))
def test_every_path_option_refuses_a_wrong_path_in_one_line_naming_it(
    run, tmp_path, capsys, monkeypatch, command, option, value
):
    assert value != "no KIND for this option", f"add {option} to KIND"
    data = tmp_path / "data.tsv"
    data.write_text("123\t321\n4567\t7654\n")
    (tmp_path / "dir").mkdir()
    monkeypatch.chdir(tmp_path)
    paths = {"RUN": run, "DATA": str(data), "NEW": str(tmp_path / "new"),
             "NEW.png": str(tmp_path / "new.png"), "MISSING": str(tmp_path / "missing"),
             "DIR": str(tmp_path / "dir"), "FILE": str(data)}  # fmt: skip
    argv = command_line(command, option, value, paths)
    line = refusal(capsys, argv)
    assert line.startswith(f"minis2s {command}: error: "), line
    named = [*names(command, option), paths[value], paths[value].removeprefix(str(tmp_path))]
    assert any(name in line for name in named), f"{line!r} names neither {option} nor its path"
    assert "would be ignored" not in line and "has no effect" not in line, line


# An option given without the one it acts with is refused, naming both (help: "with --beam").
COMBINATIONS = [
    ("translate", ["--nbest", "2"], "--beam"),
    ("translate", ["--coverage-penalty", "0.2"], "--beam"),
    ("translate", ["--length-penalty", "average"], "--beam"),
    ("translate", ["--beam", "2", "--alpha", "0.5"], "--length-penalty gnmt"),
    ("translate", ["--top-p", "0.5"], "--sample"),
    ("translate", ["--top-k", "2"], "--sample"),
    ("translate", ["--temperature", "0.5"], "--sample"),
    ("translate", ["--seed", "3"], "--sample"),
    ("translate", ["--sample", "--beam", "2"], "--beam"),
    ("translate", ["--phrase-table", "DATA"], "--replace-unk"),
    ("evaluate", ["--beam", "2", "--nbest", "2"], "--nbest"),
    ("train", ["--warmup-steps", "2"], "--lr-schedule warmup"),
    ("train", ["--lr-schedule", "constant", "--lr-decay", "0.5"], "--lr-schedule exponential"),
    ("train", ["--sampling-steps", "2"], "--teacher-forcing below 1"),
    ("train", ["--momentum", "0.5"], "sgd"),
    ("train", ["--cell", "gru", "--forget-bias", "1"], "--cell lstm"),
    ("train", ["--init", "xavier", "--init-scale", "0.1"], "--init uniform"),
    ("average", ["--last", "2"], "--run"),
    ("plot", ["--sentence", "123"], "--checkpoint"),
]


@pytest.mark.parametrize("command,options,needs", COMBINATIONS)
def test_an_option_without_the_one_it_needs_is_refused(
    run, tmp_path, capsys, command, options, needs
):
    data = tmp_path / "data.tsv"
    data.write_text("123\t321\n")
    paths = {"RUN": run, "DATA": str(data), "NEW": str(tmp_path / "new"),
             "NEW.png": str(tmp_path / "new.png")}  # fmt: skip
    argv = [command, *(a for o, v in base(command).items() for a in [o, *v]), *options]
    argv += ["123"] * (command == "translate")
    line = refusal(capsys, [paths.get(a, a.replace("RUN/", run + "/")) for a in argv])
    assert line.startswith(f"minis2s {command}: error: ") and needs in line, line
    assert options[-2] in line or options[-1] in line, line
