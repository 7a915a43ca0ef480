"""The README's training sections walked as a new user walks them (Training and translating,
Training options, Stopping and resuming a run, Word vectors and shared embeddings): what a
command given bad input says, and that nothing a user wrote is lost."""

import errno
import os

import pytest

from minis2s.cli import main
from minis2s.data.corpus import write_tsv
from minis2s.train.config import TrainConfig
from minis2s.train.trainer import Trainer
from tests.refusals import refusal
from tests.tiny_run import TINY, train_tiny


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train_tiny(tmp_path_factory.mktemp("walkthrough") / "run")


@pytest.fixture
def no_training(monkeypatch):
    """Trainer.fit made to fail the test: a refusal must come before any training."""
    monkeypatch.setattr(Trainer, "fit", lambda self: pytest.fail("training started"))


@pytest.mark.parametrize("which", ["best", "last"])
def test_an_out_inside_a_checkpoint_is_refused(run, capsys, no_training, which):
    """`--out runs/x/best/new` trained a whole run inside runs/x's checkpoint, which the next
    save of runs/x (its --resume) replaces whole, the new run with it."""
    inside = run / which / "new"
    line = refusal(capsys, ["train", *TINY, "--out", str(inside)])
    assert f"--out {inside} is inside the checkpoint {run / which}" in line
    assert "choose another --out" in line
    assert not inside.exists()


def test_an_out_below_a_file_names_the_file_and_the_option(tmp_path, capsys, no_training):
    """It said only `[Errno 20] Not a directory: 'notes/run'`: neither --out nor which part of
    the path is the file."""
    (tmp_path / "notes").write_text("mine\n", encoding="utf-8")
    out = tmp_path / "notes" / "run"
    line = refusal(capsys, ["train", *TINY, "--out", str(out)])
    assert f"--out {out}: {tmp_path / 'notes'} is a file, not a directory" in line
    assert "choose another --out" in line
    assert (tmp_path / "notes").read_text(encoding="utf-8") == "mine\n"


def test_vectors_out_below_a_file_says_it_is_a_file(run, tmp_path, capsys):
    """`minis2s vectors --out notes/en.vec` said the directory notes does not exist, and that
    it should be created, where notes is a file that exists."""
    (tmp_path / "notes").write_text("mine\n", encoding="utf-8")
    out = tmp_path / "notes" / "en.vec"
    argv = ["vectors", "--checkpoint", str(run), "--side", "src", "--out", str(out)]
    line = refusal(capsys, argv)
    assert f"--out {out}: {tmp_path / 'notes'} is a file, not a directory" in line
    assert "does not exist" not in line
    assert (tmp_path / "notes").read_text(encoding="utf-8") == "mine\n"


def test_tasks_write_below_a_file_names_the_option_and_the_file(tmp_path, capsys):
    """`minis2s tasks --write sort notes/sort` said only `[Errno 20] Not a directory`."""
    (tmp_path / "notes").write_text("mine\n", encoding="utf-8")
    out = tmp_path / "notes" / "sort"
    line = refusal(capsys, ["tasks", "--write", "sort", str(out)])
    assert f"--write: {tmp_path / 'notes'} is a file, not a directory" in line
    assert (tmp_path / "notes").read_text(encoding="utf-8") == "mine\n"


def test_a_header_that_contradicts_its_vectors_is_named_not_taken_for_their_width(tmp_path, capsys):
    """A header `N 9` above vectors of 8 numbers: the refusal said the file holds 9-dimensional
    vectors and to train with --emb 9, which then failed at line 2; the embeddings are 8 wide,
    as the vectors are, and what is wrong is the header."""
    corpus = tmp_path / "c.tsv"
    corpus.write_text("".join(f"a{i} b\tc d{i}\n" for i in range(40)), encoding="utf-8")
    vectors = tmp_path / "v.txt"
    vectors.write_text("2 9\na1 " + "0.5 " * 7 + "1\nb 1 2 3 4 5 6 7 8\n", encoding="utf-8")
    argv = [
        "train", "--data", str(corpus), "--tokenizer", "word", "--src-vectors", str(vectors),
        "--emb", "8", "--hidden", "8", "--epochs", "1", "--quiet", "--out", str(tmp_path / "r"),
    ]  # fmt: skip
    line = refusal(capsys, argv)
    assert f"{vectors}:2: 8 values, expected 9 (the header says 9)" in line
    assert "--emb 9" not in line


def test_a_corpus_renamed_since_resumes_with_data_where_it_is_now(tmp_path, capsys):
    """The refusal of a --resume whose corpus is gone says to give --data where it is now; given
    under its new name, it was refused again (data.name='c', this run asks data.name='d'), though
    the fingerprints of its pairs, which decide whether it is the run's data, were the run's."""
    corpus = tmp_path / "c.tsv"
    corpus.write_text("".join(f"{i} {i + 1}\t{i + 1} {i}\n" for i in range(40)), encoding="utf-8")
    out = str(tmp_path / "run")
    tiny = ["--hidden", "8", "--emb", "8", "--quiet", "--show", "0"]
    assert main(["train", "--data", str(corpus), *tiny, "--max-steps", "1", "--out", out]) == 0
    moved = corpus.rename(tmp_path / "d.tsv")
    line = refusal(capsys, ["train", "--out", out, "--resume", "--max-steps", "2"])
    assert f"trained on --data {corpus}, which is gone; give the run's data where it is now" in line
    argv = ["train", "--out", out, "--resume", "--max-steps", "2", "--data", str(moved)]
    assert main(argv) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert main(["train", "--out", out, "--resume", "--max-steps", "3"]) == 0  # recorded: d.tsv
    edited = moved.read_text(encoding="utf-8").replace("1 2\t", "1 3\t")
    moved.write_text(edited, encoding="utf-8")
    line = refusal(capsys, ["train", "--out", out, "--resume", "--max-steps", "4"])
    assert "(the checkpoint keeps a fingerprint of its data" in line  # an edit still shows


def test_a_corpus_saved_as_utf16_is_refused_as_utf16(tmp_path, capsys):
    """ASCII text saved as UTF-16 (Windows' "Unicode") is valid UTF-8 with a NUL byte after
    each character: two such files trained, on sentences of NULs and letters, without a word;
    a TSV file's lone NUL after its last line end read as a line without a TAB."""
    sources = "".join(f"ab{i}\n" for i in range(30))
    targets = "".join(f"{i}ba\n" for i in range(30))
    (tmp_path / "s.txt").write_bytes(sources.encode("utf-16-le"))
    (tmp_path / "t.txt").write_bytes(targets.encode("utf-16-le"))
    tsv = "".join(f"ab{i}\t{i}ba\n" for i in range(30))
    (tmp_path / "c.tsv").write_bytes(tsv.encode("utf-16-le"))
    (tmp_path / "bom.tsv").write_bytes(tsv.encode("utf-16"))  # with its byte order mark
    tiny = ["--hidden", "8", "--emb", "8", "--epochs", "1", "--quiet", "--show", "0"]
    for data, line in (("s.txt", 1), ("c.tsv", 1), ("bom.tsv", 1)):
        argv = ["train", "--data", str(tmp_path / data), *tiny, "--out", str(tmp_path / "r")]
        if data == "s.txt":
            argv[3:3] = [str(tmp_path / "t.txt")]
        refused = refusal(capsys, argv)
        assert f"{tmp_path / data}:{line}: " in refused
        assert "UTF-16" in refused and "save the file as UTF-8" in refused
    assert not (tmp_path / "r").exists()
    with pytest.raises(ValueError, match="NUL"):  # nor does minis2s write a file it refuses
        write_tsv(tmp_path / "w.tsv", [("a\0b", "c")])


def test_a_vectors_file_saved_as_utf16_is_refused_as_utf16(tmp_path, capsys):
    """Without a header, a vectors file of ASCII saved as UTF-16 was read as one long word per
    line and refused at its last line, the NUL after the last line end, as `0 values`."""
    corpus = tmp_path / "c.tsv"
    corpus.write_text("".join(f"a{i} b\tc d{i}\n" for i in range(40)), encoding="utf-8")
    vectors = tmp_path / "v.txt"
    vectors.write_bytes("a1 1 2 3 4 5 6 7 8\nb 1 2 3 4 5 6 7 8\n".encode("utf-16-le"))
    argv = [
        "train", "--data", str(corpus), "--tokenizer", "word", "--src-vectors", str(vectors),
        "--emb", "8", "--hidden", "8", "--epochs", "1", "--quiet", "--out", str(tmp_path / "r"),
    ]  # fmt: skip
    line = refusal(capsys, argv)
    assert f"{vectors}:1: a NUL byte" in line
    assert "UTF-16" in line and "save the file as UTF-8" in line


@pytest.mark.parametrize(
    "error",
    [
        PermissionError(errno.EACCES, "Permission denied"),
        OSError(errno.EROFS, "Read-only file system"),
    ],
    ids=["EACCES", "EROFS"],
)
def test_an_out_that_cannot_be_made_names_the_option(tmp_path, capsys, monkeypatch, error):
    """`--out /data/runs/x` under a folder the user may not write said only `[Errno 13]
    Permission denied: '/data/runs'` (and under /proc, `[Errno 2] No such file or directory`)."""
    out = tmp_path / "shared" / "run"
    real = os.makedirs

    def refuse(path, *args, **kwargs):
        if os.fspath(path).startswith(str(tmp_path / "shared")):
            raise type(error)(error.errno, error.strerror, str(tmp_path / "shared"))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "makedirs", refuse)
    line = refusal(capsys, ["train", *TINY, "--out", str(out)])
    assert f"cannot make the run directory {out} ({error.strerror}: {tmp_path / 'shared'})" in line
    assert "choose another --out" in line and "[Errno" not in line


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")  # as test_pretrained
def test_an_out_below_a_special_file_names_it(tmp_path, capsys, no_training):
    """`--out /dev/null/run`: a device or a named pipe is no directory either, and said only
    `[Errno 20] Not a directory`."""
    os.mkfifo(tmp_path / "pipe")
    out = tmp_path / "pipe" / "run"
    line = refusal(capsys, ["train", *TINY, "--out", str(out)])
    assert f"--out {out}: {tmp_path / 'pipe'} is a file, not a directory" in line
    line = refusal(capsys, ["tasks", "--write", "sort", str(out)])
    assert f"--write: {tmp_path / 'pipe'} is a file, not a directory" in line


def test_a_word_listed_twice_with_another_vector_gets_a_note(tmp_path, capsys):
    """Two vector files joined (English and Spanish ones, both holding "no") gave a word two
    vectors, and the first was taken without a word. Listed again with the same vector, it
    is no news."""
    corpus = tmp_path / "c.tsv"
    corpus.write_text("".join(f"a{i} b\tc d{i}\n" for i in range(40)), encoding="utf-8")
    vectors = tmp_path / "v.txt"
    vectors.write_text("a1 1 2\nb 3 4\nzz 5 6\nb 3 4\na1 7 8\n", encoding="utf-8")
    argv = [
        "train", "--data", str(corpus), "--tokenizer", "word", "--src-vectors", str(vectors),
        "--emb", "2", "--hidden", "2", "--epochs", "1", "--quiet", "--show", "0",
    ]  # fmt: skip
    assert main([*argv, "--out", str(tmp_path / "r")]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if "again" in line]
    assert len(notes) == 1, notes
    assert f"{vectors}: 1 vocabulary word is listed again with another vector" in notes[0]
    assert "'a1' on line 5" in notes[0] and "the first" in notes[0]


@pytest.mark.parametrize("which", ["best", "last"])
def test_an_out_holding_a_folder_of_its_own_named_best_or_last_is_refused_first(
    tmp_path, capsys, no_training, which
):
    """A folder of the user's named best/ was found at the first save, after an epoch of
    training (`checkpoint.save: .../best exists and is not a checkpoint directory`); one named
    last/ was taken for a run (`already holds a run; pass --resume`), whose --resume then said
    `incomplete checkpoint: .../last/state.json is missing`."""
    out = tmp_path / "mine"
    (out / which).mkdir(parents=True)
    (out / which / "notes.txt").write_text("mine\n", encoding="utf-8")
    line = refusal(capsys, ["train", *TINY, "--out", str(out)])
    assert f"{out / which} is not a checkpoint" in line
    assert "move it away or choose another --out" in line and "--resume" not in line
    assert (out / which / "notes.txt").read_text(encoding="utf-8") == "mine\n"


def test_tasks_write_refuses_a_blank_directory(tmp_path, capsys, monkeypatch):
    """`minis2s tasks --write sort " "` (a stray quote) made a folder named ' ' and wrote the
    splits there, where train's --out refuses a blank path."""
    monkeypatch.chdir(tmp_path)
    line = refusal(capsys, ["tasks", "--write", "sort", " "])
    assert "--write: the directory is ' ', a blank path" in line
    assert list(tmp_path.iterdir()) == []


def test_a_compressed_or_binary_corpus_is_not_called_utf16(tmp_path, capsys):
    """A NUL byte reads as UTF-16 only where every other byte is one: a gzip file (corpus.tsv.gz,
    as corpora are downloaded) is named as gzip, as a vectors file is, and other bytes with a
    NUL as not text."""
    import gzip

    tsv = "".join(f"ab{i}\t{i}ba\n" for i in range(30)).encode()
    (tmp_path / "c.tsv.gz").write_bytes(gzip.compress(tsv))
    (tmp_path / "bin.tsv").write_bytes(b"abc\x00defgh\tij\n" + tsv)
    tiny = ["--hidden", "8", "--emb", "8", "--epochs", "1", "--quiet", "--show", "0"]
    out = ["--out", str(tmp_path / "r")]
    line = refusal(capsys, ["train", "--data", str(tmp_path / "c.tsv.gz"), *tiny, *out])
    assert f"{tmp_path / 'c.tsv.gz'}: gzip-compressed" in line and "gunzip" in line
    line = refusal(capsys, ["train", "--data", str(tmp_path / "bin.tsv"), *tiny, *out])
    assert f"{tmp_path / 'bin.tsv'}:1: a NUL byte (byte 4 of the line)" in line
    assert "UTF-16" not in line


def test_an_optimizer_named_in_capitals_resumes_under_its_name(tmp_path, capsys):
    """`--optimizer SGD` is taken (the optimizer's name is read in any case), but the run kept
    'SGD' in its config, so its resume with `--optimizer sgd` was refused as another run
    (train.optimizer='SGD', this run asks 'sgd')."""
    out = str(tmp_path / "run")
    sgd = ["--momentum", "0.9", "--out", out]
    assert main(["train", *TINY, "--optimizer", "SGD", *sgd, "--max-steps", "1"]) == 0
    argv = ["train", "--resume", "--optimizer", "sgd", *sgd, "--max-steps", "2"]
    assert main(argv) == 0, capsys.readouterr().err
    assert TrainConfig(optimizer="AdamW", weight_decay=0.01).optimizer == "adamw"


def test_a_file_that_is_not_vectors_is_not_given_an_emb_to_train_with(run, tmp_path, capsys):
    """`--src-vectors corpus.tsv` (the wrong file) said it holds 15-dimensional vectors and to
    train with --emb 15, counting the words of its first line; a run's params.npz (the
    embeddings are in there) was called a zip archive to unzip, whose .npy files are no text."""
    corpus = tmp_path / "c.tsv"
    corpus.write_text("".join(f"a{i} b c\td e f{i}\n" for i in range(40)), encoding="utf-8")
    argv = ["train", "--data", str(corpus), "--tokenizer", "word", "--emb", "8", "--hidden", "8",
            "--epochs", "1", "--quiet", "--out", str(tmp_path / "r")]  # fmt: skip
    line = refusal(capsys, [*argv, "--src-vectors", str(corpus)])
    assert f"{corpus}:1: value 1 of 'a0', 'b', is not a number" in line
    assert "--emb" not in line
    params = run / "best" / "params.npz"
    line = refusal(capsys, [*argv, "--src-vectors", str(params)])
    assert f"{params}: a NumPy .npz archive" in line
    assert f"minis2s vectors --checkpoint {run / 'best'} --side src --out" in line


def test_a_corpus_option_given_twice_is_quoted_whole(capsys):
    """`--dev-data dev.en dev.fr --dev-data dev.tsv` was quoted as `--dev-data dev.en, then
    --dev-data dev.tsv`: the first corpus's target file left out."""
    argv = ["train", "--data", "c.tsv", "--dev-data", "dev.en", "dev.fr", "--dev-data", "d.tsv"]
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "--dev-data given twice (--dev-data dev.en dev.fr, then --dev-data d.tsv)" in err
