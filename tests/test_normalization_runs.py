"""Unicode normalisation in a trained run: a model trained on NFC text reads NFD input and NFD
references as the same text; a run saved before normalisation (no "normalization" in its
state.json) translates and resumes as it was trained, reading text as written."""

import json
import shutil
import unicodedata

import numpy as np
import pytest

from minis2s import pipeline
from minis2s.api import Translation, Translator
from minis2s.cli import main
from minis2s.data.tokenize import Tokenizer, get_tokenizer
from minis2s.data.vocab import BOS_ID, EOS_ID, Vocab
from minis2s.models import ModelConfig, Seq2Seq
from minis2s.train.config import TrainConfig

WORDS = ["café", "élève", "naïve", "señor", "가나", "été", "crème", "über"]
PAIRS = [(f"{a} {b}", f"{b} {a}") for a in WORDS for b in WORDS if a != b][:40]


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def train_args(corpus, out) -> list[str]:
    return ["train", "--data", str(corpus), "--dev-data", str(corpus), "--tokenizer", "word",
            "--epochs", "1", "--hidden", "8", "--emb", "8", "--quiet", "--show", "0",
            "--out", str(out)]  # fmt: skip


def write_corpus(path, form) -> None:
    lines = [unicodedata.normalize(form, f"{s}\t{t}\n") for s, t in PAIRS]
    path.write_text("".join(lines), encoding="utf-8")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A word model trained one epoch on NFC text."""
    tmp = tmp_path_factory.mktemp("nfc")
    write_corpus(tmp / "nfc.tsv", "NFC")
    assert main(train_args(tmp / "nfc.tsv", tmp / "run")) == 0
    return tmp / "run"


def test_a_run_records_that_it_reads_text_in_nfc(run):
    state = json.loads((run / "last" / "state.json").read_text(encoding="utf-8"))
    assert state["config"]["data"]["normalization"] == "NFC"
    assert Translator.load(run).tokenizer.form == "NFC"


def test_nfd_input_translates_as_the_nfc_input(run):
    tr = Translator.load(run)
    sources = [s for s, _ in PAIRS[:6]]
    for method, kw in (("greedy", {}), ("beam", {"beam_size": 3})):
        want = tr.translate(sources, method=method, **kw)
        tr.unknown = 0
        got = tr.translate([nfd(s) for s in sources], method=method, **kw)
        assert tr.unknown == 0  # every word known: the NFD spelling is the NFC token
        assert [t.src_tokens for t in got] == [nfc(s).split() for s in sources]
        assert [(t.text, t.logprob) for t in got] == [(t.text, t.logprob) for t in want]


def test_an_nfd_reference_matches_the_nfc_output_it_spells(run):
    tr = Translator.load(run)
    sources = [s for s, _ in PAIRS[:6]]
    outputs = [t.text for t in tr.translate(sources)]
    assert all(unicodedata.is_normalized("NFC", o) for o in outputs)
    # outputs that spell the targets, in NFC (one epoch's are mostly empty, and evaluate refuses
    # an empty reference, which an empty output matched), scored against the targets in NFD
    spelled = [nfc(t) for _, t in PAIRS[:6]]
    tr.translate = lambda sources, **kw: [
        Translation(t, tr.tokenizer.tokenize(t), 0.0, 0.0, tr.tokenizer.tokenize(s), None)
        for s, t in zip(sources, spelled, strict=True)
    ]
    nfd_refs = [(s, nfd(t)) for s, t in zip(sources, spelled, strict=True)]
    assert tr.as_output(nfd("café  élève ")) == "café élève"
    result = tr.evaluate(nfd_refs, bleu=False)
    assert result["exact_match"] == 1.0 and result["token_accuracy"] == 1.0


def test_a_phrase_table_in_nfd_finds_the_nfc_source_token(run):
    tr = Translator.load(run)
    kw = {"replace_unk": True, "max_len_b": 3}
    tr.model.params["out.b"][...] = 0.0
    tr.model.params["out.b"][3] = 50.0  # every output token is <unk>: each one is replaced
    (out,) = tr.translate(["café"], phrase_table={nfd("café"): nfd("kafé")}, **kw)
    assert set(out.tokens) == {"kafé"}  # NFC, as the references it is scored against
    with pytest.raises(ValueError, match=f"lists 'café' and '{nfd('café')}', the same token in"):
        tr.translate(["café"], phrase_table={"café": "a", nfd("café"): "b"}, **kw)


def as_saved_before_normalisation(run, to, vocabs=None) -> None:
    """A copy of `run` as a run trained on NFD text wrote it before minis2s normalised text: NFD
    tokens in its vocabularies (`vocabs`, else each of its tokens in NFD), no "normalization"
    in its state.json."""
    shutil.copytree(run, to)
    for ckpt in (to / "best", to / "last"):
        state = json.loads((ckpt / "state.json").read_text(encoding="utf-8"))
        del state["config"]["data"]["normalization"]
        (ckpt / "state.json").write_text(json.dumps(state), encoding="utf-8")
        for side in ("src", "tgt"):
            vocab = Vocab.load(ckpt / f"{side}_vocab.json")
            vocab = vocabs[side] if vocabs else Vocab([nfd(t) for t in vocab.tokens[4:]])
            vocab.save(ckpt / f"{side}_vocab.json")


def test_a_run_saved_before_normalisation_translates_as_it_was_trained(run, tmp_path):
    as_saved_before_normalisation(run, tmp_path / "old")
    new, old = Translator.load(run), Translator.load(tmp_path / "old")
    assert old.tokenizer.form is None and old.tokenizer.name == "word"
    sources = [s for s, _ in PAIRS[:6]]
    got = old.translate([nfd(s) for s in sources])  # as it read its NFD training text
    assert old.unknown == 0 and [t.src_tokens for t in got] == [nfd(s).split() for s in sources]
    want = new.translate(sources)  # the same weights on the same ids
    assert [t.text for t in got] == [nfd(t.text) for t in want]
    old.translate(sources)
    assert old.unknown == sum(len(s.split()) for s in sources)  # NFC input: unknown, as before


def test_a_bad_normalization_in_state_json_is_named(run, tmp_path):
    shutil.copytree(run / "last", tmp_path / "bad")
    state = json.loads((tmp_path / "bad" / "state.json").read_text(encoding="utf-8"))
    state["config"]["data"]["normalization"] = "NFKC"
    (tmp_path / "bad" / "state.json").write_text(json.dumps(state), encoding="utf-8")
    with pytest.raises(ValueError, match=r"state.json says normalization 'NFKC', which is none"):
        Translator.load(tmp_path / "bad")


def test_a_run_saved_before_normalisation_resumes_reading_text_as_written(run, tmp_path):
    """On its own NFD corpus: normalised, its vocabulary would not be the checkpoint's."""
    write_corpus(tmp_path / "nfd.tsv", "NFD")
    assert main(train_args(tmp_path / "nfd.tsv", tmp_path / "new")) == 0
    as_written = get_tokenizer("word")._replace(form=None)  # as minis2s read text before
    old = pipeline.load_data(data=tmp_path / "nfd.tsv", dev_data=tmp_path / "nfd.tsv",
                             tokenizer=as_written)  # fmt: skip
    assert "\u0301" in "".join(old.src_vocab.tokens)
    vocabs = {"src": old.src_vocab, "tgt": old.tgt_vocab}
    as_saved_before_normalisation(tmp_path / "new", tmp_path / "old", vocabs)
    args = train_args(tmp_path / "nfd.tsv", tmp_path / "old")
    assert main([*args, "--epochs", "2", "--resume"]) == 0
    state = json.loads((tmp_path / "old" / "last" / "state.json").read_text(encoding="utf-8"))
    assert "normalization" not in state["config"]["data"] and state["trainer_state"]["epoch"] == 2
    assert Translator.load(tmp_path / "old").tokenizer.form is None


def resume_in_python(corpus, out, tokenizer="word"):
    """`pipeline.train(..., resume=True)` of the run in `out` for one more epoch, on `corpus`
    loaded with `tokenizer`, with the run's own options."""
    saved = json.loads((out / "last" / "state.json").read_text(encoding="utf-8"))["config"]
    data = pipeline.load_data(data=corpus, dev_data=corpus, tokenizer=tokenizer)
    model = {k: v for k, v in saved["model"].items()
             if k not in ("src_vocab", "tgt_vocab", "src_features")}  # fmt: skip
    tcfg = TrainConfig(**(saved["train"] | {"epochs": 2}))
    pipeline.train(data, model, tcfg, str(out), resume=True, progress=False)


def test_the_python_api_resumes_a_run_saved_before_normalisation_reading_text_as_written(
    run, tmp_path
):
    """As `train --resume` does: on NFC text (the same tokens either way) it goes on, and
    still reads text as written; on NFD text, normalised, its vocabulary would not be the run's,
    and the refusal says how to load the data as the run reads it."""
    tr = Translator.load(run)
    as_saved_before_normalisation(run, tmp_path / "old", {"src": tr.src_vocab, "tgt": tr.tgt_vocab})
    write_corpus(tmp_path / "nfc.tsv", "NFC")
    resume_in_python(tmp_path / "nfc.tsv", tmp_path / "old")
    state = json.loads((tmp_path / "old" / "last" / "state.json").read_text(encoding="utf-8"))
    assert "normalization" not in state["config"]["data"] and state["trainer_state"]["epoch"] == 2
    assert Translator.load(tmp_path / "old").tokenizer.form is None

    write_corpus(tmp_path / "nfd.tsv", "NFD")
    assert main(train_args(tmp_path / "nfd.tsv", tmp_path / "new")) == 0
    as_written = get_tokenizer("word")._replace(form=None)
    old = pipeline.load_data(data=tmp_path / "nfd.tsv", dev_data=tmp_path / "nfd.tsv",
                             tokenizer=as_written)  # fmt: skip
    vocabs = {"src": old.src_vocab, "tgt": old.tgt_vocab}
    as_saved_before_normalisation(tmp_path / "new", tmp_path / "nfd-run", vocabs)
    with pytest.raises(ValueError, match=r"saved before minis2s put text in Unicode NFC") as e:
        resume_in_python(tmp_path / "nfd.tsv", tmp_path / "nfd-run")
    assert "tokenizer=Translator.load(" in str(e.value)
    assert "data.train[0] = " in str(e.value) and "is not in NFC" in str(e.value)
    run_tokenizer = Translator.load(tmp_path / "nfd-run", "last").tokenizer
    resume_in_python(tmp_path / "nfd.tsv", tmp_path / "nfd-run", run_tokenizer)
    assert Translator.load(tmp_path / "nfd-run").tokenizer.form is None
    # a run that records its form reads in NFC whatever the text: NFD text is no reason to refuse
    resume_in_python(tmp_path / "nfd.tsv", tmp_path / "new")
    assert Translator.load(tmp_path / "new").tokenizer.form == "NFC"


def spelling_model(tokens: list[str]) -> tuple[Seq2Seq, Vocab]:
    """A char model (and its target vocabulary) whose greedy output is `tokens`, whatever the
    source: a vanilla RNN decoder without recurrence or attention, whose state after token i
    (after <s> for i = 0) is about the unit vector e_i, and whose output layer maps e_i to
    token i + 1 (</s> after the last)."""
    vocab = Vocab(tokens)
    n = len(tokens) + 1  # states: after <s> and after each token
    cfg = ModelConfig(src_vocab=len(vocab), tgt_vocab=len(vocab), emb=n, hidden=n, cell="rnn",
                      attention="none", input_feed=False)  # fmt: skip
    model = Seq2Seq(cfg, seed=0)
    p = model.params
    for name in ("dec.rnn.l0.fwd.W_hh", "dec.rnn.l0.fwd.b_ih", "dec.rnn.l0.fwd.b_hh", "out.b"):
        p[name][...] = 0.0
    p["dec.rnn.l0.fwd.W_ih"][...] = np.eye(n)
    p["dec.emb.W"][...], p["out.W"][...] = 0.0, 0.0
    ids = [BOS_ID, *(vocab.id_of(t) for t in tokens)]
    for i, token_id in enumerate(ids):
        p["dec.emb.W"][token_id, i] = 5.0  # h = tanh(5 e_i), about e_i
        p["out.W"][(ids[1:] + [EOS_ID])[i], i] = 10.0
    return model, vocab


def test_an_output_whose_tokens_spell_a_decomposed_letter_is_nfc_text():
    """A char vocabulary of NFC text holds a lone U+0301 where a letter has no composed form
    with it (Yoruba's ẹ́ is U+1EB9 U+0301); a model may write it after "e", which is é in NFD.
    The text is NFC, as README says outputs are, and it matches the reference "é" (NFC)."""
    model, vocab = spelling_model(["e", "\u0301"])
    tr = Translator(model, vocab, vocab, "char")
    (out,) = tr.translate(["e"])
    assert out.tokens == ["e", "\u0301"]  # what the model chose
    assert out.text == "\u00e9"
    assert tr.evaluate([("e", "\u00e9")], bleu=False)["exact_match"] == 1.0
    old = Translator(model, vocab, vocab, get_tokenizer("char")._replace(form=None))
    assert old.translate(["e"])[0].text == "e\u0301"  # a run saved before: text as written


def test_a_reference_is_compared_in_nfc_as_an_output_is():
    """A reference goes through the same steps as an output: its tokens joined, then put in the
    tokenizer's form. Tokens of NFC text joined by a tokenizer of one's own need not be NFC: the
    pieces of pre-segmented text, joined without spaces, write "e \u0301" (NFC: the space keeps
    them apart) as "e\u0301", é in NFD. An output of the same tokens is "é", so without the form
    the model that wrote the reference's own tokens had exact match 0."""
    model, vocab = spelling_model(["e", "\u0301"])
    pieces = Tokenizer("pieces", str.split, "".join)
    tr = Translator(model, vocab, vocab, pieces)
    (out,) = tr.translate(["e"])
    assert out.tokens == pieces.tokenize("e \u0301") and out.text == "\u00e9"
    assert tr.as_output("e \u0301") == "\u00e9"
    assert tr.evaluate([("e", "e \u0301")], bleu=False)["exact_match"] == 1.0
    old = Translator(model, vocab, vocab, pieces._replace(form=None))  # text as written
    assert old.as_output("e \u0301") == old.translate(["e"])[0].text == "e\u0301"
