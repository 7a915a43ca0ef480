"""Pretrained word vectors in training: embeddings initialised from a file
(models/pretrained.py, --src-vectors / --tgt-vectors) and kept fixed (--freeze-embeddings)."""

import os

import numpy as np
import pytest

from minis2s import pipeline
from minis2s.cli import main
from minis2s.data.batching import batches, encode_pairs
from minis2s.data.tasks import get_task
from minis2s.data.tokenize import get_tokenizer
from minis2s.data.vectors import read_vectors, write_vectors
from minis2s.data.vocab import SPECIALS, Vocab
from minis2s.models import ModelConfig, Seq2Seq
from minis2s.models.pretrained import load_vectors
from minis2s.train import checkpoint
from minis2s.train.config import TrainConfig
from minis2s.train.frozen_embeddings import frozen_params
from minis2s.train.grad_norm import global_norm
from minis2s.train.trainer import Trainer

TOK = get_tokenizer("word")
PAIRS = get_task("en-es").generate(seed=0)["train"][:60]


@pytest.fixture(scope="module")
def vocabs():
    src = Vocab.build([TOK.tokenize(s) for s, _ in PAIRS])
    tgt = Vocab.build([TOK.tokenize(t) for _, t in PAIRS])
    return src, tgt


def make_trainer(vocabs, out, model_kw=(), **train_kw):
    src, tgt = vocabs
    cfg = ModelConfig(src_vocab=len(src), tgt_vocab=len(tgt), emb=8, hidden=8, **dict(model_kw))
    model = Seq2Seq(cfg, seed=0)
    examples, _ = encode_pairs(PAIRS, src, tgt, TOK)
    dev = batches(examples[:16], batch_size=16)

    def evaluate(m):
        total, n = (sum(x) for x in zip(*(m.nll(b) for b in dev), strict=True))
        return {"loss": total / n}

    tcfg = TrainConfig(epochs=2, batch_size=16, metric="loss", **train_kw)
    meta = {"model": cfg.to_dict(), "train": tcfg.to_dict()}
    return Trainer(model, tcfg, examples, evaluate, out, meta=meta, progress=False)


@pytest.mark.parametrize("freeze", ["src", "tgt", "both"])
def test_frozen_embeddings_stay_as_they_were_and_the_rest_learns(vocabs, tmp_path, freeze):
    """AdamW's decoupled decay would shrink a frozen matrix too if the optimizer held it: it
    holds no state for it, so a frozen matrix is the initial one bit for bit."""
    run = make_trainer(vocabs, tmp_path / "run", freeze_embeddings=freeze, optimizer="adamw",
                       weight_decay=0.1)  # fmt: skip
    before = {k: np.array(v) for k, v in run.model.params.items()}
    run.fit()
    frozen = {"src": {"enc.emb.W"}, "tgt": {"dec.emb.W"}, "both": {"enc.emb.W", "dec.emb.W"}}
    assert set(run.frozen) == frozen[freeze]
    for k, p in run.model.params.items():
        same = np.array_equal(p, before[k])
        assert same == (k in run.frozen), k
    state_keys = {k.split("/", 1)[1] for k in run.optimizer.state_dict() if "/" in k}
    assert state_keys == set(run.model.params) - frozen[freeze]


def test_a_frozen_run_resumes_bit_for_bit(vocabs, tmp_path):
    full = make_trainer(vocabs, tmp_path / "full", freeze_embeddings="src")
    full.fit()
    first = make_trainer(vocabs, tmp_path / "split", freeze_embeddings="src", max_steps=5)
    first.fit()
    second = make_trainer(vocabs, tmp_path / "split", freeze_embeddings="src")
    assert second.resume()
    second.fit()
    for k in full.model.params:
        np.testing.assert_array_equal(full.model.params[k], second.model.params[k], err_msg=k)


def test_resuming_with_another_freeze_is_refused(vocabs, tmp_path):
    make_trainer(vocabs, tmp_path / "run", freeze_embeddings="src", max_steps=2).fit()
    with pytest.raises(ValueError, match="freeze_embeddings"):
        make_trainer(vocabs, tmp_path / "run", freeze_embeddings="none").resume()


def test_the_gradient_norm_leaves_frozen_matrices_out(vocabs, tmp_path):
    run = make_trainer(vocabs, tmp_path / "run", freeze_embeddings="both", clip=0.0)
    batch = run.epoch_batches(0)[0]
    _, grads = run.model.loss_and_grads(batch, rng=np.random.default_rng([0, 1]))
    _, norm = run.step(batch)
    trainable = {k: g for k, g in grads.items() if k not in ("enc.emb.W", "dec.emb.W")}
    assert norm == pytest.approx(global_norm(trainable), rel=1e-6)
    assert norm < global_norm(grads)  # the embeddings' gradients are not zero: they count


def test_freeze_embeddings_is_checked():
    with pytest.raises(ValueError, match="freeze_embeddings='source'; choose one of none, src"):
        TrainConfig(freeze_embeddings="source")
    tied = ModelConfig(src_vocab=9, tgt_vocab=9, emb=8, hidden=8, tie_embeddings=True)
    with pytest.raises(ValueError, match="also the output layer.*freeze 'src' only"):
        frozen_params(TrainConfig(freeze_embeddings="tgt"), tied)
    assert frozen_params(TrainConfig(freeze_embeddings="src"), tied) == ("enc.emb.W",)
    frames = ModelConfig(src_vocab=0, tgt_vocab=9, src_features=5)
    with pytest.raises(ValueError, match="feature vectors .*no source embeddings to freeze"):
        frozen_params(TrainConfig(freeze_embeddings="both"), frames)


def write_some(path, rng, words, dim=8):
    """A word-vector file (with its `N D` header) of random vectors for `words`; returns them."""
    lines = [f"{len(words)} {dim}"]
    table = {}
    for w in words:
        v = rng.standard_normal(dim)
        table[w] = v
        lines.append(" ".join([w, *map(repr, v.tolist())]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return table


def test_load_vectors_sets_the_rows_it_finds_and_leaves_the_rest(vocabs, tmp_path):
    src, _ = vocabs
    model = Seq2Seq(ModelConfig(src_vocab=len(src), tgt_vocab=9, emb=8, hidden=8), seed=0)
    before = np.array(model.params["enc.emb.W"])
    words = src.tokens[len(SPECIALS) :: 2]  # every other token
    file = tmp_path / "vectors.txt"
    table = write_some(file, np.random.default_rng(0), words + ["zebra"])
    loaded = load_vectors(model, "src", src, file)
    assert (loaded.coverage.exact, loaded.coverage.total) == (len(words), len(src) - 4)
    W = model.params["enc.emb.W"]
    for i, token in enumerate(src.tokens):
        want = table[token].astype(np.float32) if token in table else before[i]
        np.testing.assert_array_equal(W[i], want, err_msg=token)
    assert str(loaded) == (
        f"src embeddings: {len(words):,} of the {len(src) - 4:,} vocabulary tokens "
        f"({len(words) / (len(src) - 4):.0%}) from {file}; the others keep their random "
        "initialisation"
    )
    names = Vocab(["Ana", "Luis", "the"])  # GloVe's words are lowercase
    model = Seq2Seq(ModelConfig(src_vocab=len(names), tgt_vocab=9, emb=8, hidden=8), seed=0)
    lower = tmp_path / "lower.txt"
    table = write_some(lower, np.random.default_rng(1), ["ana", "luis", "the"])
    loaded = load_vectors(model, "src", names, lower)
    assert loaded.coverage == (1, 2, 3)
    assert str(loaded).endswith(f"(100%) from {lower} (2 of them found lowercased)")
    np.testing.assert_array_equal(model.params["enc.emb.W"][4], table["ana"].astype(np.float32))


def test_load_vectors_refuses_what_cannot_fit(vocabs, tmp_path):
    src, _ = vocabs
    model = Seq2Seq(ModelConfig(src_vocab=len(src), tgt_vocab=9, emb=8, hidden=8), seed=0)
    other = tmp_path / "other.txt"
    write_some(other, np.random.default_rng(0), ["zebra", "yak"])
    with pytest.raises(ValueError, match=r"none of the \d+ src vocabulary tokens .*another "):
        load_vectors(model, "src", src, other)
    wide = tmp_path / "wide.txt"
    write_some(wide, np.random.default_rng(0), src.tokens[4:6], dim=5)
    with pytest.raises(ValueError, match="holds 5-dimensional vectors, but the embeddings are 8 "
                       "wide: make the model with emb=5"):  # fmt: skip
        load_vectors(model, "src", src, wide)
    for first in (b"2 5\n", b""):  # known from the header or the first vector: no more is read
        wide.write_bytes(first + b"the 1 2 3 4 5\n" + b"never read\n")
        with pytest.raises(ValueError, match="holds 5-dimensional vectors, but the embeddings"):
            load_vectors(model, "src", src, wide)
    huge = tmp_path / "huge.txt"  # finite in the file, infinite in float32
    huge.write_text(f"{src.tokens[5]} 1e39 {' 0' * 7}\n")
    with pytest.raises(ValueError, match=f"the vector of '{src.tokens[5]}' holds a value beyond "
                       r"float32's range .*train with dtype='float64'"):  # fmt: skip
        load_vectors(model, "src", src, huge)
    wider = Seq2Seq(ModelConfig(src_vocab=len(src), tgt_vocab=9, emb=8, hidden=8), dtype="float64")
    load_vectors(wider, "src", src, huge)
    assert wider.params["enc.emb.W"][5, 0] == 1e39
    frames = Seq2Seq(ModelConfig(src_vocab=0, tgt_vocab=9, src_features=3, emb=8, hidden=8))
    with pytest.raises(ValueError, match="feature vectors .*no source embeddings"):
        load_vectors(frames, "src", src, other)


def test_train_from_the_command_line_with_frozen_pretrained_vectors(tmp_path, capsys):
    """A model's exported source embeddings start a new run, which keeps them fixed: the new
    run's enc.emb.W rows are the file's vectors (their float32), and stay so after training."""
    data = tmp_path / "corpus.tsv"
    data.write_text("".join(f"{s}\t{t}\n" for s, t in PAIRS), encoding="utf-8")
    src = Vocab.build([TOK.tokenize(s) for s, _ in PAIRS])
    W = np.random.default_rng(1).standard_normal((len(src), 8))
    vec = tmp_path / "src.vec"
    assert write_vectors(vec, src, W) == len(src) - 4
    argv = ["train", "--data", str(data), "--tokenizer", "word", "--epochs", "1", "--emb", "8",
            "--hidden", "8", "--dev-size", "4", "--quiet", "--show", "0",
            "--src-vectors", str(vec), "--freeze-embeddings", "src"]  # fmt: skip
    assert main([*argv, "--out", str(tmp_path / "run")]) == 0
    assert "note: --freeze-embeddings" not in capsys.readouterr().out  # src: its vectors given
    run = checkpoint.load(tmp_path / "run" / "last")
    saved = Vocab.from_dict(run.vocabs["src"])
    E = run.params["enc.emb.W"]
    for i, token in enumerate(saved.tokens[4:], 4):
        np.testing.assert_array_equal(E[i], W[src.id_of(token)].astype(np.float32), err_msg=token)
    capsys.readouterr()
    assert main([*argv[:-4], "--emb", "6", "--src-vectors", str(vec),
                 "--out", str(tmp_path / "narrow")]) == 2  # fmt: skip
    assert "holds 8-dimensional vectors, but the embeddings are 6 wide" in capsys.readouterr().err


def test_freezing_embeddings_no_vectors_started_is_noted(tmp_path, capsys):
    data = tmp_path / "corpus.tsv"
    data.write_text("".join(f"{s}\t{t}\n" for s, t in PAIRS), encoding="utf-8")
    argv = ["train", "--data", str(data), "--tokenizer", "word", "--epochs", "1", "--emb", "8",
            "--hidden", "8", "--dev-size", "4", "--quiet", "--show", "0", "--out",
            str(tmp_path / "run"), "--freeze-embeddings", "both"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "note: --freeze-embeddings both keeps the tgt embeddings at their random " in out
    assert "keeps the src embeddings" in out


def test_vectors_are_refused_on_resume_and_when_missing_before_the_data_is_read(tmp_path, capsys):
    argv = ["train", "--data", str(tmp_path / "never-read.tsv"), "--out", str(tmp_path / "r")]
    assert main([*argv, "--resume", "--src-vectors", "v.txt"]) == 2
    assert "a resumed run goes on with those in its checkpoint" in capsys.readouterr().err
    assert main([*argv, "--tgt-vectors", str(tmp_path / "nope.vec")]) == 2
    err = capsys.readouterr().err
    assert "--tgt-vectors" in err and "nope.vec: no such file" in err
    assert main([*argv, "--src-vectors", str(tmp_path)]) == 2
    assert "a directory; give the vectors' file" in capsys.readouterr().err


def test_a_freeze_the_model_cannot_take_is_refused_before_the_vectors_are_read(tmp_path):
    data = pipeline.load_data(task="en-es", train_size=16)
    unread = tmp_path / "unread.vec"
    unread.write_text("not a vector file\n")
    with pytest.raises(ValueError, match="with tie_embeddings the target embeddings are also"):
        pipeline.train(data, {"emb": 8, "hidden": 8, "tie_embeddings": True},
                       TrainConfig(freeze_embeddings="tgt"), str(tmp_path / "run"),
                       tgt_vectors=unread, progress=False)  # fmt: skip


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_vectors_may_come_through_a_pipe(tmp_path):
    """`--src-vectors <(zcat glove.txt.gz)` gives a pipe, which is read line by line as a file."""
    fifo = tmp_path / "vectors.pipe"
    os.mkfifo(fifo)
    pipeline.check_vectors_options(False, fifo, None)  # not "no such file"


def test_vectors_writes_a_runs_embeddings_that_start_another_run(tmp_path, capsys):
    """`minis2s vectors` writes what the checkpoint holds, row for row, and `train
    --src-vectors` reads every vocabulary token back from it."""
    data = tmp_path / "corpus.tsv"
    data.write_text("".join(f"{s}\t{t}\n" for s, t in PAIRS), encoding="utf-8")
    argv = ["train", "--data", str(data), "--tokenizer", "word", "--epochs", "1", "--emb", "8",
            "--hidden", "8", "--dev-size", "4", "--quiet", "--show", "0"]  # fmt: skip
    assert main([*argv, "--out", str(tmp_path / "first")]) == 0
    vec = tmp_path / "tgt.vec"
    assert main(["vectors", "--checkpoint", str(tmp_path / "first"), "--side", "tgt",
                 "--out", str(vec)]) == 0  # fmt: skip
    best = checkpoint.load(tmp_path / "first" / "best")
    tgt = Vocab.from_dict(best.vocabs["tgt"])
    assert f"wrote {len(tgt) - 4:,} tgt vectors of 8 numbers to {vec}" in capsys.readouterr().out
    table = read_vectors(vec).table
    assert sorted(table) == sorted(tgt.tokens[4:])
    for token, v in table.items():
        np.testing.assert_array_equal(v, best.params["dec.emb.W"][tgt.id_of(token)], token)
    assert main([*argv, "--out", str(tmp_path / "second"), "--tgt-vectors", str(vec)]) == 0
    assert main(["vectors", "--checkpoint", str(tmp_path / "first"), "--out", str(vec)]) == 2
    assert f"--out {vec} exists; choose a new file" in capsys.readouterr().err
    assert sorted(read_vectors(vec).table) == sorted(tgt.tokens[4:])  # not written over


def test_vectors_refuses_a_feature_models_source_side(tmp_path, capsys):
    argv = ["train", "--task", "noisy-digits", "--train-size", "32", "--epochs", "1", "--emb",
            "8", "--hidden", "8", "--dev-size", "4", "--quiet", "--show", "0", "--out",
            str(tmp_path / "frames")]  # fmt: skip
    assert main(argv) == 0
    assert main(["vectors", "--checkpoint", str(tmp_path / "frames"),
                 "--out", str(tmp_path / "v.vec")]) == 2  # fmt: skip
    assert "reads feature vectors, so it has no source embeddings; give --side tgt" in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "v.vec").exists()
