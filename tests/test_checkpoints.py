"""gan_course.checkpoints: the one file format (magic line, SHA-256, JSON header, payload), its refusals
and their messages, atomic writes, and the architecture check done before anything is loaded (byte
flips all over a trainer's file are in test_checkpoints_corruption.py)."""

import hashlib
import io
import json
import os
import re

import pytest
import torch

from gan_course import checkpoints
from gan_course.checkpoints import CheckpointError

pytestmark = pytest.mark.usefixtures("one_thread")


def payload():
    return {"weights": {"w": torch.arange(12.0).view(3, 4), "b": torch.tensor([1, 2], dtype=torch.int64)},
            "half": torch.linspace(0, 1, 5, dtype=torch.float16), "history": [0.5, 0.25], "steps": 7,
            "name": "ring8", "flag": True, "nothing": None}


def assert_same_payload(got, expected):
    assert set(got) == set(expected)
    for key, value in expected.items():
        if isinstance(value, torch.Tensor):
            assert got[key].dtype == value.dtype and torch.equal(got[key], value), key
        elif isinstance(value, dict):
            assert_same_payload(got[key], value)
        else:
            assert got[key] == value, key


def split(raw: bytes):
    """The magic line, the digest line, the header line and the payload of a checkpoint's bytes."""
    magic, digest, head, data = raw.split(b"\n", 3)
    return magic, digest, head, data


def torch_bytes(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def header(data: bytes = b"", kind: str = "vae", **changes) -> bytes:
    return json.dumps({"format": checkpoints.FORMAT, "version": checkpoints.VERSION, "kind": kind,
                       "payload_bytes": len(data), **changes}).encode()


def planted(head: bytes, data: bytes) -> bytes:
    """A file with the right magic line and digest around any header and payload (to plant damage
    the digest cannot see)."""
    body = head + b"\n" + data
    return checkpoints.MAGIC + hashlib.sha256(body).hexdigest().encode() + b"\n" + body


# ---- the round trip ----------------------------------------------------------------------------


def test_save_then_load_gives_back_every_tensor_number_and_string(tmp_path):
    path = checkpoints.save(tmp_path / "run" / "ckpt.pt", "gan_trainer", payload())
    assert path == tmp_path / "run" / "ckpt.pt" and path.is_file()
    assert_same_payload(checkpoints.load(path, "gan_trainer"), payload())
    assert_same_payload(checkpoints.load(path, ("vae", "gan_trainer"), map_location="cpu"), payload())


def test_the_file_is_a_magic_line_a_digest_a_json_header_and_the_payload(tmp_path):
    path = checkpoints.save(tmp_path / "c.pt", "classifier", {"x": torch.ones(3)})
    magic, digest, head, data = split(path.read_bytes())
    assert magic + b"\n" == checkpoints.MAGIC == b"GAN_COURSE_CHECKPOINT\n"
    assert digest.decode() == hashlib.sha256(head + b"\n" + data).hexdigest()  # covers header and payload
    assert json.loads(head) == {"format": "gan_course.checkpoint", "version": 2, "kind": "classifier",
                                "payload_bytes": len(data)}
    assert torch.equal(torch.load(io.BytesIO(data), weights_only=True)["x"], torch.ones(3))  # plain torch reads it


def test_kind_of_reads_the_kind_from_the_header(tmp_path):
    checkpoints.save(tmp_path / "a.pt", "gan2d_state", {"x": torch.zeros(1)})
    assert checkpoints.kind_of(tmp_path / "a.pt") == "gan2d_state"
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        checkpoints.kind_of(tmp_path / "missing.pt")


@pytest.mark.parametrize("kind, payload_, message", [
    ("bad kind!", {}, "kind must be a short name such as 'gan_trainer', got 'bad kind!'"),
    ("", {}, "kind must be a short name such as 'gan_trainer', got ''"),
    (3, {}, "kind must be a short name such as 'gan_trainer', got 3"),
    ("vae", [1, 2], "payload must be a dict, got list"),
])
def test_save_refuses_bad_kinds_and_payloads_and_writes_nothing(tmp_path, kind, payload_, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        checkpoints.save(tmp_path / "x.pt", kind, payload_)
    assert list(tmp_path.iterdir()) == []


# ---- refusals ----------------------------------------------------------------------------------


def test_a_file_of_another_kind_is_refused_naming_both_kinds(tmp_path):
    path = checkpoints.save(tmp_path / "v.pt", "vae", {"x": torch.zeros(1)})
    with pytest.raises(CheckpointError, match=re.escape(f"{path} holds a 'vae' checkpoint, but a 'gan_trainer' "
                                                        "checkpoint is expected here")):
        checkpoints.load(path, "gan_trainer")
    with pytest.raises(CheckpointError, match="but a 'gan_trainer' or 'gan_weights' checkpoint is expected"):
        checkpoints.load(path, ("gan_trainer", "gan_weights"))
    assert issubclass(CheckpointError, ValueError)  # callers that catch ValueError keep working


def test_one_flipped_byte_anywhere_in_the_payload_is_refused_by_the_checksum(tmp_path):
    good = checkpoints.save(tmp_path / "good.pt", "gan_trainer", payload())
    raw = good.read_bytes()
    data = split(raw)[3]
    start, length = len(raw) - len(data), len(data)
    for offset in (0, 1, 57, length // 3, length // 2, length - 2, length - 1):
        damaged = bytearray(raw)
        damaged[start + offset] ^= 0x01
        bad = tmp_path / f"bad{offset}.pt"
        bad.write_bytes(bytes(damaged))
        loaded = None
        with pytest.raises(CheckpointError, match=re.escape(f"{bad} is damaged: its content does not match the "
                                                            "SHA-256 recorded when it was written")):
            loaded = checkpoints.load(bad, "gan_trainer")
        assert loaded is None  # nothing came back
        assert checkpoints.kind_of(bad) == "gan_trainer"  # the header itself still reads
    assert_same_payload(checkpoints.load(good, "gan_trainer"), payload())


def test_a_file_whose_recorded_sha256_is_wrong_is_refused(tmp_path):
    path = checkpoints.save(tmp_path / "a.pt", "vae", {"x": torch.ones(2)})
    magic, _, head, data = split(path.read_bytes())
    path.write_bytes(b"\n".join([magic, hashlib.sha256(b"something else").hexdigest().encode(), head, data]))
    with pytest.raises(CheckpointError, match="a.pt is damaged: its content does not match the SHA-256"):
        checkpoints.load(path, "vae")


def test_a_gan_course_01_file_is_refused_with_how_to_convert_it(tmp_path):
    for name, old in (("format1.pt", {"format": 1, "kind": "vae", "state_dict": {}}),
                      ("state_dict.pt", {"state_dict": {"w": torch.zeros(2)}, "meta": {}})):
        torch.save(old, tmp_path / name)
        with pytest.raises(CheckpointError, match=re.escape(
                f"{tmp_path / name} is a file written by gan_course 0.1, before the one checkpoint format; "
                "remake it with this version (or convert it with tools/convert_checkpoints.py")):
            checkpoints.load(tmp_path / name, "vae")


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(os.urandom(3000)), "is not a course checkpoint (damaged, or another kind of file)"),
    (lambda p: p.write_bytes(b""), "is empty, not a course checkpoint"),
    (lambda p: torch.save(torch.zeros(3), p), "is a torch.save file, not a course checkpoint (write it with "
                                              "gan_course.checkpoints.save)"),
    (lambda p: torch.save([1, 2], p), "is a torch.save file, not a course checkpoint"),
    (lambda p: torch.save({"format": "something.else"}, p), "is a torch.save file, not a course checkpoint"),
    (lambda p: p.write_bytes(b"GAN_COURSE_CHECKPOIN"), "is not a course checkpoint"),  # the magic line cut short
])
def test_files_that_are_not_checkpoints_are_refused(tmp_path, make, message):
    path = tmp_path / "x.pt"
    make(path)
    with pytest.raises(CheckpointError, match=re.escape(f"{path} {message}")):
        checkpoints.load(path, "vae")
    with pytest.raises(CheckpointError, match=re.escape(message)):
        checkpoints.kind_of(path)


def test_a_truncated_checkpoint_is_refused(tmp_path):
    path = checkpoints.save(tmp_path / "a.pt", "vae", payload())
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="is damaged: its content does not match the SHA-256"):
        checkpoints.load(path, "vae")


def test_another_version_of_the_format_is_refused(tmp_path):
    path = tmp_path / "a.pt"
    data = torch_bytes({"x": torch.ones(1)})
    path.write_bytes(planted(header(data, version=3), data))
    with pytest.raises(CheckpointError, match=re.escape(f"{path} is a course checkpoint of version 3; this "
                                                        "gan_course reads version 2")):
        checkpoints.load(path, "vae")
    with pytest.raises(CheckpointError, match="of version 3"):
        checkpoints.kind_of(path)


@pytest.mark.parametrize("head", [
    b"not json",
    json.dumps({"format": "gan_course.checkpoint", "version": 2, "payload_bytes": 0}).encode(),  # no kind
    json.dumps({"format": "another.format", "version": 2, "kind": "vae", "payload_bytes": 0}).encode(),
    json.dumps({"format": "gan_course.checkpoint", "version": 2, "kind": 7, "payload_bytes": 0}).encode(),
    json.dumps(["a", "list"]).encode(),
])
def test_a_header_that_cannot_be_read_is_a_damaged_checkpoint(tmp_path, head):
    path = tmp_path / "a.pt"
    path.write_bytes(planted(head, b""))
    with pytest.raises(CheckpointError, match=re.escape(f"{path} is a damaged course checkpoint: its header "
                                                        "cannot be read")):
        checkpoints.load(path, "vae")


def test_a_payload_of_another_length_than_its_header_says_is_refused(tmp_path):
    data = torch_bytes({"x": torch.ones(1)})
    path = tmp_path / "a.pt"
    path.write_bytes(planted(header(data, payload_bytes=len(data) + 5), data))  # digest right, length wrong
    with pytest.raises(CheckpointError, match=re.escape(f"{path} is damaged: its payload has {len(data)} bytes, "
                                                        f"its header says {len(data) + 5}")):
        checkpoints.load(path, "vae")


class Planted:
    """An object torch.save pickles as code to run: weights_only loading must refuse it."""


def test_a_payload_with_pickled_code_or_not_a_dict_is_refused(tmp_path):
    for name, data, message in (
            ("code.pt", torch_bytes({"obj": Planted()}), r"code\.pt: its payload cannot be read \(UnpicklingError"),
            ("list.pt", torch_bytes([1, 2, 3]), r"list\.pt: its payload is a list, not a dict"),
            ("junk.pt", b"not a torch file", r"junk\.pt: its payload cannot be read")):
        (tmp_path / name).write_bytes(planted(header(data), data))  # digest and length right
        with pytest.raises(CheckpointError, match=message):
            checkpoints.load(tmp_path / name, "vae")


def test_a_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(f"no checkpoint at {tmp_path / 'none.pt'}")):
        checkpoints.load(tmp_path / "none.pt", "vae")
    (tmp_path / "folder.pt").mkdir()
    with pytest.raises(FileNotFoundError):
        checkpoints.load(tmp_path / "folder.pt", "vae")


# ---- atomic writes -------------------------------------------------------------------------------


def test_a_save_that_fails_while_writing_leaves_the_old_file_and_no_part_file(tmp_path, monkeypatch):
    path = checkpoints.save(tmp_path / "ckpt.pt", "gan_trainer", {"generation": torch.tensor(1)})
    before = path.read_bytes()
    written = []

    def failing_fsync(fd):
        written.append(os.fstat(fd).st_size)  # the new bytes are in the temporary file by now
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="disk full"):
        checkpoints.save(path, "gan_trainer", {"generation": torch.tensor(2), "more": torch.zeros(1000)})
    monkeypatch.undo()
    assert written and written[0] > len(before)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]  # no .part file left behind
    assert checkpoints.load(path, "gan_trainer")["generation"].item() == 1


def test_a_save_that_fails_before_writing_leaves_the_old_file(tmp_path, monkeypatch):
    path = checkpoints.save(tmp_path / "ckpt.pt", "vae", {"x": torch.ones(1)})
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("cannot serialise")

    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(OSError, match="cannot serialise"):
        checkpoints.save(path, "vae", {"x": torch.zeros(1)})
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]


# ---- state dicts ---------------------------------------------------------------------------------


def test_check_state_dict_matches_accepts_the_modules_own_state():
    net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    assert checkpoints.check_state_dict_matches(net, net.state_dict(), "generator") is None


def test_check_state_dict_matches_names_missing_unexpected_and_reshaped_entries():
    net = torch.nn.Linear(3, 2)
    other = torch.nn.Linear(4, 2).state_dict()
    with pytest.raises(ValueError, match=re.escape("this checkpoint was saved from a different generator "
                                                   "architecture; nothing was loaded. Differences: weight: "
                                                   "checkpoint (2, 4) vs model (2, 3)")):
        checkpoints.check_state_dict_matches(net, other, "generator")
    state = {"weight": torch.zeros(2, 3), "extra": torch.zeros(1)}
    with pytest.raises(ValueError, match=re.escape("different critic architecture; nothing was loaded. "
                                                   "Differences: missing ['bias']; unexpected ['extra']")):
        checkpoints.check_state_dict_matches(net, state, "critic")


def test_check_state_dict_matches_lists_at_most_five_of_each():
    net = torch.nn.Sequential(*[torch.nn.Linear(2, 2) for _ in range(4)])  # 8 entries
    with pytest.raises(ValueError) as info:
        checkpoints.check_state_dict_matches(net, {}, "model")
    missing = re.search(r"missing (\[.*?\])", str(info.value)).group(1)
    assert missing == str(sorted(net.state_dict())[:5])
