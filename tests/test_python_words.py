"""A refusal met through the Python API names the keywords its caller wrote (init_from, task,
data, dev_data), not the command line's options (--init-from, --task, --data, --dev-data); the
command line, reaching the same checks, keeps its option words."""

import shutil
import warnings

import pytest

from minis2s import fine_tune, pipeline
from minis2s.cli import main
from minis2s.long_sources import LongSourceWarning
from minis2s.models import Seq2Seq
from minis2s.models.config import ModelConfig
from minis2s.train.config import TrainConfig
from tests.tiny_run import TINY, train_tiny

TCFG = TrainConfig(epochs=1, dev_size=16, batch_size=32)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny reverse-digits run (tests/tiny_run.py), its path."""
    return str(train_tiny(tmp_path_factory.mktemp("python-words") / "run"))


def _said(error_type, call) -> str:
    with pytest.raises(error_type) as e:
        call()
    return str(e.value)


def test_a_missing_init_from_is_named_as_the_keyword(tmp_path, capsys):
    data = pipeline.load_data(task="reverse-digits", train_size=16)
    nope = tmp_path / "nope"
    said = _said(FileNotFoundError, lambda: pipeline.train(
        data, {}, TCFG, str(tmp_path / "a"), init_from=nope, progress=False))  # fmt: skip
    assert said.startswith(f"init_from {nope}: no such directory"), said
    assert "--" not in said, said
    assert main(["train", *TINY, "--init-from", str(nope), "--out", str(tmp_path / "b")]) == 2
    assert f"--init-from {nope}: no such directory" in capsys.readouterr().err


def test_init_from_a_file_is_named_as_the_keyword(run, tmp_path):
    data = pipeline.load_data(task="reverse-digits", train_size=16)
    log = f"{run}/log.jsonl"
    said = _said(NotADirectoryError, lambda: pipeline.train(
        data, {}, TCFG, str(tmp_path / "a"), init_from=log, progress=False))  # fmt: skip
    assert said.startswith(f"init_from {log} is a file"), said


def test_data_of_another_kind_is_named_as_the_keyword(run, tmp_path, capsys):
    """A text run fine-tuned on noisy-digits' feature frames."""
    frames = pipeline.load_data(task="noisy-digits", train_size=16)
    said = _said(ValueError, lambda: pipeline.train(
        frames, {}, TCFG, str(tmp_path / "a"), init_from=run, progress=False))  # fmt: skip
    assert said.startswith("init_from ") and "reads text as its sources" in said, said
    argv = ["train", "--task", "noisy-digits", "--init-from", run, "--out", str(tmp_path / "b")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "error: --init-from " in err and "reads text as its sources" in err, err


def test_max_len_of_another_tokenizer_is_named_as_the_keyword(tmp_path):
    """Reached from Python only: the command line loads the data with the run's tokenizer."""
    corpus = tmp_path / "w.tsv"
    corpus.write_text("".join(f"{s}\t{s}\n" for s in ["a b c", "the cat sat", "a dog", "b"] * 4))
    words = pipeline.load_data(data=str(corpus), dev_data=str(corpus), tokenizer="word")
    pipeline.train(words, {"hidden": 8, "emb": 8}, TCFG, str(tmp_path / "run"), progress=False)
    chars = pipeline.load_data(data=str(corpus), dev_data=str(corpus), max_len=5)
    said = _said(ValueError, lambda: pipeline.train(
        chars, {}, TCFG, str(tmp_path / "new"), init_from=tmp_path / "run"))  # fmt: skip
    assert said.startswith("init_from ") and "max_len 5 dropped" in said, said


def test_parameters_not_the_models_are_named_as_the_keyword(run):
    start = fine_tune.load_run(run)
    cfg = start.translator.model.cfg.to_dict() | {"attention": "none", "input_feed": False}
    other = Seq2Seq(ModelConfig(**cfg), seed=0)
    said = _said(ValueError, lambda: fine_tune.copy_weights(other, start))
    assert said.startswith("init_from ") and "its parameters are not the model's" in said, said
    said = _said(ValueError, lambda: fine_tune.copy_weights(other, start, cli=True))
    assert said.startswith("--init-from "), said


def test_a_model_option_the_run_does_not_have_is_named_as_the_keyword(run, tmp_path):
    data = pipeline.load_data(task="reverse-digits", train_size=16)
    said = _said(ValueError, lambda: pipeline.train(
        data, {"hidden": 4}, TCFG, str(tmp_path / "a"), init_from=run, progress=False))  # fmt: skip
    assert said.startswith("model_options hidden=4: ") and "(init_from)" in said, said
    assert "leave hidden out of model_options" in said and "--" not in said, said


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({}, "load_data: give exactly one of task (a built-in task) and data (a corpus)"),
        ({"task": "copy", "data": "x.tsv"}, "load_data: give exactly one of task"),
        ({"task": "copy", "dev_data": "d.tsv"}, "load_data: dev_data applies to a corpus (data)"),
        ({"task": "copy", "dev_data": "d.tsv", "max_len": 5},
         "load_data: dev_data and max_len apply to a corpus (data)"),
        ({"data": b"x.tsv"}, "load_data: data: a corpus path must be a str"),
        ({"data": "x.tsv", "dev_data": 3}, "load_data: dev_data: a corpus path must be a str"),
        ({"data": ""}, "load_data: data '' is empty"),
        ({"data": "x.tsv", "test_data": ""}, "load_data: test_data '' is empty"),
    ],
)  # fmt: skip
def test_load_data_names_its_keywords(kwargs, words):
    said = _said(ValueError, lambda: pipeline.load_data(**kwargs))
    assert said.startswith(words), said
    assert "--" not in said, said


def test_the_command_line_keeps_its_option_words_for_the_data(tmp_path, capsys):
    common = ["--out", str(tmp_path / "r"), "--quiet"]
    cases = [
        ([], "error: give exactly one of --task (a built-in task) and --data (a corpus)"),
        (["--task", "copy", "--dev-data", "d.tsv"], "error: --dev-data applies to a --data corpus"),
    ]
    for argv, words in cases:
        assert main(["train", *argv, *common]) == 2
        assert words in capsys.readouterr().err


# load_data's refusals and warnings after the data is read: the keywords from Python (no option
# word anywhere), minis2s train's options from the command line
WORDS = "".join(f"w{i} x{i}\ty{i} z{i}\n" for i in range(40))  # each token once
SKEWED = "a b a b\tX\nb a\tY\na a b\tX Y\n" * 2  # shared, a and b outnumber X and Y


def _load_said(tmp_path, text, **kwargs) -> str:
    """What load_data says of a corpus of `text` (its dev the same file unless given): its
    refusal, else its first warning."""
    path = tmp_path / "c.tsv"
    path.write_text(text)
    kwargs = {"data": str(path), "dev_data": str(path), "tokenizer": "word"} | kwargs
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            pipeline.load_data(**kwargs)
        except ValueError as e:
            return str(e)
    return str(caught[0].message)


@pytest.mark.parametrize(
    "text, kwargs, words",
    [
        (WORDS, {}, "all 40 dev_data pairs are also in the training pairs (data), so its "),
        (WORDS, {}, "give a dev_data corpus without them (or leave dev_data out: 5% of data is"),
        (SKEWED, {"max_len": 1}, "max_len 1 drops all 6 training pairs (each has more tokens on "
         "a side): raise max_len"),
        ("ab\tba\n", {"dev_data": None}, "give it more pairs, or pass dev_data so that all of"),
        (WORDS, {"min_freq": 2, "dev_data": None},
         "min_freq=2 leaves the source vocabulary no token"),
        (SKEWED, {"max_vocab": 6, "share_vocab": True}, "share_vocab counts the source and target "
         "tokens together, and max_vocab=6 keeps none of the target tokens"),
        (SKEWED, {"min_freq": 5, "share_vocab": True}, "lower min_freq, or leave share_vocab out"),
        (SKEWED, {"train_size": 50, "max_len": 3}, "train_size=50 asks for more than the 4 "
         "training pairs there are (2 longer than max_len dropped); all 4 are used"),
    ],
)  # fmt: skip
def test_load_data_names_its_keywords_once_it_has_read_the_data(tmp_path, text, kwargs, words):
    said = _load_said(tmp_path, text, **kwargs)
    assert words in said, said
    assert "--" not in said, said


def test_load_data_names_its_vocabulary_keywords(run):
    said = _said(ValueError, lambda: pipeline.load_data(task="noisy-digits", share_vocab=True))
    assert said.startswith("share_vocab builds one vocabulary"), said
    assert said.endswith("leave share_vocab out"), said
    vocabs = fine_tune.load_run(run).vocabs
    said = _said(ValueError, lambda: pipeline.load_data(task="copy", max_vocab=8, vocabs=vocabs))
    assert said.startswith("max_vocab shapes a vocabulary built on the training pairs"), said
    assert "--" not in said, said


def test_the_command_line_keeps_its_option_words_for_what_it_read(tmp_path, capsys):
    path = tmp_path / "c.tsv"
    path.write_text(WORDS)
    common = ["--data", str(path), "--tokenizer", "word", "--out", str(tmp_path / "r"), "--quiet"]
    cases = [
        (["--dev-data", str(path), "--max-len", "1"], "error: --max-len 1 drops all 40"),
        (["--share-vocab", "--max-vocab", "5"],
         "--share-vocab counts the source and target tokens together, and --max-vocab 5 keeps"),
        (["--min-freq", "2"], "error: --min-freq 2 leaves the source vocabulary no token"),
    ]  # fmt: skip
    for argv, words in cases:
        assert main(["train", *common, *argv]) == 2
        assert words in capsys.readouterr().err
    assert main(["train", "--task", "noisy-digits", "--share-vocab", *common[4:]]) == 2
    assert "error: --share-vocab builds one vocabulary" in capsys.readouterr().err
    argv = ["--dev-data", str(path), "--epochs", "1", "--hidden", "4", "--emb", "4", "--show", "0"]
    with warnings.catch_warnings():  # pyproject's filterwarnings ignores the overlap's
        warnings.simplefilter("always")
        assert main(["train", *common, *argv, "--max-len", "3"]) == 0
    err = capsys.readouterr().err
    assert "all 40 --dev-data pairs are also in the training pairs (--data)" in err, err
    path.write_text(SKEWED)
    common[5] = str(tmp_path / "r2")  # --out: a new run
    assert main(["train", *common, *argv, "--max-len", "3", "--train-size", "50"]) == 0
    err = capsys.readouterr().err
    assert (
        "--train-size 50 asks for more than the 4 training pairs there are (2 longer than "
        "--max-len dropped); all 4 are used" in err
    ), err


def test_a_vocabulary_option_of_the_data_is_named_as_the_keyword(run, tmp_path):
    """Data loaded with its own vocabulary options, fine-tuned: reached from Python only (train
    refuses --min-freq with --init-from first), but read_as_run keeps train's words with cli."""
    for options, words in [({"min_freq": 2}, "min_freq=2"), ({"max_vocab": 9}, "max_vocab=9")]:
        data = pipeline.load_data(task="reverse-digits", train_size=16, **options)
        with pytest.raises(ValueError) as e:
            pipeline.train(data, {}, TCFG, str(tmp_path / "a"), init_from=run, progress=False)
        said = str(e.value)
        assert said.startswith(f"load_data's {words} shaped the data's vocabularies"), said
        assert "(init_from)" in said and said.endswith(f"load the data without {words[:-2]}")
        assert "--" not in said, said
    said = _said(ValueError, lambda: fine_tune.read_as_run(data, fine_tune.load_run(run), cli=True))
    assert said.startswith("--max-vocab 9 shapes a vocabulary built on the training data"), said


def test_share_embeddings_without_one_vocabulary_is_named_as_the_keyword(tmp_path, capsys):
    """A new model's share_embeddings over two vocabularies, or over feature frames: from Python
    in model_options' words, from the command line in train's."""
    cases = [("copy", "embeds source and target ids with one matrix, so it needs one vocabulary "
              "for both sides: load the data with pipeline.load_data(..., share_vocab=True)"),
             ("noisy-digits", "shares the source embedding with the target's, but the sources "
              "of noisy-digits are (S, 10) feature frames, which have none; leave "
              "share_embeddings out of model_options")]  # fmt: skip
    for task, words in cases:
        data = pipeline.load_data(task=task, train_size=8)
        with pytest.raises(ValueError) as e:
            pipeline.train(data, {"share_embeddings": True}, TCFG, str(tmp_path / task))
        assert str(e.value) == f"model_options share_embeddings=True {words}"
    for task, words in [("copy", "for both sides: add --share-vocab"),
                        ("noisy-digits", "leave --share-embeddings out")]:  # fmt: skip
        argv = ["train", "--task", task, "--train-size", "8", "--share-embeddings", "--quiet"]
        assert main([*argv, "--out", str(tmp_path / "cli")]) == 2
        err = capsys.readouterr().err
        assert "error: --share-embeddings " in err and words in err, err
        assert "share_embeddings" not in err and "Python" not in err, err


def test_adamw_without_weight_decay_is_named_as_the_config_s_fields(tmp_path, capsys):
    data = pipeline.load_data(task="copy", train_size=8)
    tcfg = TrainConfig(epochs=1, optimizer="adamw")
    said = _said(ValueError, lambda: pipeline.train(data, {}, tcfg, str(tmp_path / "a")))
    assert said.startswith("TrainConfig optimizer='adamw' with weight_decay 0 is Adam; "), said
    assert said.endswith("give a weight_decay (0.01 is PyTorch's AdamW default) or "
                         "optimizer='adam'"), said  # fmt: skip
    argv = ["train", "--task", "copy", "--optimizer", "adamw", "--out", str(tmp_path / "b")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert (
        "error: --optimizer adamw with weight decay 0 is Adam; give a --weight-decay (0.01 " in err
    )
    assert err.rstrip().endswith("or --optimizer adam"), err


def test_a_dev_size_past_the_dev_pairs_is_named_as_the_config_s_field(tmp_path, capsys):
    data = pipeline.load_data(task="copy", train_size=8)
    data = data._replace(dev=data.dev[:3])
    tcfg = TrainConfig(epochs=1, dev_size=9, batch_size=8)
    with pytest.warns(UserWarning) as caught:
        pipeline.train(data, {"hidden": 4, "emb": 4}, tcfg, str(tmp_path / "a"), progress=False)
    said = [str(w.message) for w in caught if "dev_size" in str(w.message)]
    assert said == ["TrainConfig dev_size=9 asks for more than the 3 dev pairs there are; all 3 "
                    "are decoded"], [str(w.message) for w in caught]  # fmt: skip


def test_a_reversed_bidirectional_note_names_each_side_s_words(tmp_path, capsys):
    """reverse_source read by a bidirectional encoder: from Python, model_options' words; from
    the command line, train's options."""
    data = pipeline.load_data(task="reverse-digits", train_size=16)
    with pytest.warns(UserWarning) as caught:
        pipeline.train(data, {"hidden": 4, "emb": 4, "reverse_source": True}, TCFG,
                       str(tmp_path / "a"), progress=False)  # fmt: skip
    said = [str(w.message) for w in caught if "two directions" in str(w.message)]
    assert len(said) == 1 and said[0].startswith("reverse_source with a bidirectional"), said
    assert "pass bidirectional=False in model_options" in said[0] and "--" not in said[0], said
    assert main(["train", *TINY, "--reverse-source", "--out", str(tmp_path / "b")]) == 0
    err = capsys.readouterr().err
    assert "--reverse-source with a bidirectional encoder" in err, err
    assert "add --no-bidirectional" in err and "bidirectional=False" not in err, err


def test_pretrained_vectors_refused_name_each_side_s_words(tmp_path, capsys):
    """Vectors that no token of the data has, or a value float32 holds as infinity: the fix in
    pipeline's keywords from Python, in train's options from the command line."""
    data = pipeline.load_data(task="reverse-digits", train_size=16)
    other, huge = tmp_path / "other.txt", tmp_path / "huge.txt"
    other.write_text("zebra" + " 0.5" * 8 + "\n")
    huge.write_text("3 1e39" + " 0" * 7 + "\n")
    cases = [
        (
            other,
            "vectors suit load_data's tokenizer='word' or 'wordpunct'",
            "vectors suit --tokenizer word or wordpunct",
        ),
        (huge, "infinity: train with dtype='float64', or fix", "train with --dtype float64,"),
    ]
    for i, (path, python_words, cli_words) in enumerate(cases):
        with pytest.raises(ValueError) as e:
            pipeline.train(data, {"hidden": 8, "emb": 8}, TCFG, str(tmp_path / f"a{i}"),
                           src_vectors=path, progress=False)  # fmt: skip
        assert python_words in str(e.value) and "--" not in str(e.value), str(e.value)
        assert main(["train", *TINY, "--src-vectors", str(path), "--out", str(tmp_path / f"b{i}")])
        err = capsys.readouterr().err
        assert cli_words in err and "='" not in err, err


def test_vectors_of_another_width_name_each_side_s_words(tmp_path, capsys):
    """5-dimensional vectors for embeddings 8 wide: from Python, the model's emb; from the
    command line, train's --emb."""
    data = pipeline.load_data(task="reverse-digits", train_size=16)
    wide = tmp_path / "wide.txt"
    wide.write_text("3" + " 0.5" * 5 + "\n")
    with pytest.raises(ValueError) as e:
        pipeline.train(data, {"hidden": 8, "emb": 8}, TCFG, str(tmp_path / "a"),
                       src_vectors=wide, progress=False)  # fmt: skip
    said = str(e.value)
    assert said.endswith("holds 5-dimensional vectors, but the embeddings are 8 wide: make the "
                         "model with emb=5"), said  # fmt: skip
    assert main(["train", *TINY, "--src-vectors", str(wide), "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "the embeddings are 8 wide: train with --emb 5" in err and "emb=" not in err, err


def test_a_finished_run_resumed_names_each_side_s_words(run, tmp_path, capsys):
    """A run resumed with no epoch left to train: from Python, TrainConfig's field; from the
    command line, train's option."""
    data = pipeline.load_data(task="reverse-digits", train_size=16)
    out = str(tmp_path / "a")
    with warnings.catch_warnings():  # 16 pairs: dev holds longer sources, which it notes
        warnings.simplefilter("ignore", LongSourceWarning)
        pipeline.train(data, {"hidden": 4, "emb": 4}, TCFG, out, progress=False)
    with pytest.warns(UserWarning, match="nothing to train in") as caught:
        pipeline.train(data, {"hidden": 4, "emb": 4}, TCFG, out, resume=True, progress=False)
    said = [str(w.message) for w in caught if "nothing to train" in str(w.message)]
    assert said[0].endswith("it has trained its 1 epoch; resume with more (TrainConfig "
                            "epochs) to go on"), said  # fmt: skip
    out = tmp_path / "b"
    shutil.copytree(run, out)
    assert main(["train", *TINY, "--resume", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "it has trained its 1 epoch; resume with more (--epochs) to go on" in err, err


def test_adamw_s_decay_factor_past_1_names_each_side_s_words(tmp_path, capsys):
    """lr * weight_decay >= 1 refused by TrainConfig: its fields from Python, train's options
    (and none of the fields) from the command line."""
    said = _said(ValueError, lambda: TrainConfig(optimizer="adamw", lr=1.5, weight_decay=1.0))
    words = "TrainConfig: optimizer='adamw': lr * weight_decay = 1.5 * 1 = 1.5 >= 1 (at the "
    assert said.startswith(words + "schedule's peak) would zero the weights"), said
    assert "--" not in said, said
    argv = ["train", "--task", "copy", "--optimizer", "adamw", "--lr", "1.5", "--weight-decay",
            "1", "--out", str(tmp_path / "b")]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert (
        "error: --weight-decay 1: with --optimizer adamw, --lr x --weight-decay = 1.5 * 1 = " in err
    )
    assert err.rstrip().endswith("lower --weight-decay or --lr") and "weight_decay" not in err, err
