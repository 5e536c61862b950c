"""The ingest pipeline end to end on the real MUSE fixtures, with planted faults and planted PHI."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from lvsdctl.errors import InputError, StrictRejectError
from lvsdctl.hdf5 import open_input, provenance, read_records
from lvsdctl.hdf5.raw import iter_raw_records
from lvsdctl.io.detect import read_ecg
from lvsdctl.ingest.api import expand_inputs, ingest
from lvsdctl.ingest.state import state_dir_for
from lvsdctl.ingest.pseudonym import Secret, pseudonym

FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "ecg"
if not (FIXTURES / "muse_xml").is_dir():
    pytest.skip(f"shared fixtures not found at {FIXTURES}", allow_module_level=True)
# one real export from each source keeps the tests quick (the teaching file, with demographics, last)
MUSE = [sorted(d.glob("*.xml"))[0] for d in sorted((FIXTURES / "muse_xml").iterdir()) if d.is_dir()]
INTRO = FIXTURES / "muse_xml" / "introecg" / "MUSE_20200923_093504_79000_example.xml"
KEY = Secret(b"test-secret-0123456789abcdef", "file")

# planted identifiers: none of them may reach the output
PHI = {"PatientID": "MRN7741234", "PatientLastName": "ZZPLANTEDLAST", "PatientFirstName": "ZZPLANTEDFIRST",
       "DateofBirth": "03-07-1931"}


def _plant_phi(src: Path, dst: Path) -> None:
    text = src.read_text(encoding="latin-1")
    for tag, value in PHI.items():
        text = re.sub(rf"<{tag}>[^<]*</{tag}>", f"<{tag}>{value}</{tag}>", text, count=1)
    dst.write_text(text, encoding="latin-1")


def _truncate_first_lead(src: Path, dst: Path) -> None:
    text = src.read_text(encoding="latin-1")
    m = re.search(r"<WaveFormData>([^<]*)</WaveFormData>", text)
    data = m.group(1)
    dst.write_text(text[: m.start(1)] + data[: len(data) // 2] + text[m.end(1):], encoding="latin-1")


@pytest.fixture()
def batch(tmp_path):
    """4 real MUSE files + planted faults: a malformed XML, a truncated base64 lead, a non-ECG file,
    a duplicate, and the planted-PHI copy of the teaching file (a different file: accepted)."""
    d = tmp_path / "exports"
    (d / "sub").mkdir(parents=True)
    for i, f in enumerate(MUSE):
        shutil.copy(f, d / ("sub" if i % 2 else ".") / f"ecg{i}.xml")
    _plant_phi(INTRO, d / "phi.xml")
    (d / "malformed.xml").write_text(MUSE[0].read_text(encoding="latin-1")[:3000], encoding="latin-1")
    _truncate_first_lead(MUSE[1], d / "truncated_lead.xml")
    (d / "notes.txt").write_text("not an ECG\n")
    shutil.copy(MUSE[2], d / "sub" / "zz_duplicate.xml")
    (d / ".hidden").write_text("passed over")
    return d


def _echo(tmp_path) -> Path:
    """Echo for the planted patient 8 days after the ECG (2020-09-22) and for the teaching file's id."""
    p = tmp_path / "echo.csv"
    p.write_text("patient_id,echo_date,lvef\nMRN7741234,2020-09-30,35\n201700237,2020-08-01,55\n"
                 "201700237,not-a-date,20\n")
    return p


def _run(batch, out, **kw):
    kw.setdefault("secret", KEY)
    return ingest([batch], out, **kw)


def test_batch_counted_to_the_last_file(batch, tmp_path):
    out = tmp_path / "raw.h5"
    s = _run(batch, out, echo=_echo(tmp_path))
    n_files = len(MUSE) + 5
    assert s.inputs == n_files == s.accepted + s.rejected + s.duplicates
    assert (s.accepted, s.rejected, s.duplicates, s.skipped) == (len(MUSE) + 1, 3, 1, 1)
    reasons = {Path(r.path).name: r.reason for r in s.rejects}
    assert set(reasons) == {"malformed.xml", "truncated_lead.xml", "notes.txt"}
    assert all(r and "\n" not in r for r in reasons.values())
    assert "lead" in reasons["truncated_lead.xml"].lower() or "base64" in reasons["truncated_lead.xml"].lower()
    assert s.duplicate_files[0].path.endswith("zz_duplicate.xml")

    # rejects report: CSV and JSON beside the output
    rej = pd.read_csv(f"{out}.rejects.csv")
    assert list(rej.columns) == ["path", "reason", "sha256"] and len(rej) == s.rejected
    doc = json.loads(Path(f"{out}.rejects.json").read_text())
    assert doc["inputs"] == n_files and len(doc["rejects"]) == 3 and len(doc["duplicate_files"]) == 1
    assert [i["row"] for i in doc["echo_table_issues"]] == [4]

    with open_input(out, kind="ecg-raw") as f:
        rec = read_records(f)
        assert len(rec) == s.written == s.accepted
        assert not f.attrs["synthetic"]
        params = provenance(f)[-1]["parameters"]
        assert params["counts"]["inputs"] == n_files and params["window_days"] == 30
        assert params["pseudonym"]["key_id"] == KEY.key_id
        segs = dict(iter_raw_records(f))
        # MUSE samples are stored as their int16 codes with a scale: nothing in the float32 stream
        assert f["raw/counts"].dtype == np.int16 and f["raw/samples"].shape == (0,) and f["raw/counts"].shuffle
        assert (f["raw/segments/scale"][()] > 0).all() and f.attrs["lvsdctl_format_version"] == 2
    assert rec["record_id"].str.len().eq(16).all() and rec["record_id"].is_unique
    assert (rec["source_format"] == "muse").all() and (rec["fs"] == 500).all()
    planted = rec[rec["patient"] == pseudonym(PHI["PatientID"], KEY)]
    assert len(planted) == 1
    assert planted["label"].iloc[0] == 1 and planted["lvef"].iloc[0] == 35
    assert planted["echo_delta_days"].iloc[0] == 8
    teaching = rec[rec["patient"] == pseudonym("201700237", KEY)]
    assert list(teaching["label"]) == [-1]  # its echo is 52 days away
    assert s.pairing["paired"] == 1 and s.pairing["unpaired"] == s.accepted - 1

    # signals as the reader gives them, in input order
    first = read_ecg(batch / "ecg0.xml")
    i0 = int(np.flatnonzero(rec["source_sha256"].str.startswith(rec["record_id"].iloc[0]))[0])
    got = {(g.lead, g.kind): g.signal for g in segs[i0]}
    for seg in first.segments:
        np.testing.assert_array_equal(got[(seg.lead, seg.kind)], seg.signal)


def _all_strings(path: Path) -> str:
    """Every string in an HDF5 file: attributes and string datasets, decompressed."""
    parts: list[str] = []
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            parts.append(name)
            parts.extend(str(v) for v in obj.attrs.values())
            if isinstance(obj, h5py.Dataset) and h5py.check_string_dtype(obj.dtype):
                parts.extend(obj.asstr()[()].ravel().tolist())
        parts.extend(str(v) for v in f.attrs.values())
        f.visititems(visit)
    return "\n".join(parts)


def test_no_phi_in_output_or_reports(batch, tmp_path):
    out = tmp_path / "raw.h5"
    _run(batch, out, echo=_echo(tmp_path))
    texts = [_all_strings(out), out.read_bytes().decode("latin-1"),
             Path(f"{out}.rejects.csv").read_text(), Path(f"{out}.rejects.json").read_text()]
    for value in [*PHI.values(), "201700237", "MUSE</", "TESTONE", "06-10-1980", "1980-06-10"]:
        for text in texts:
            assert value not in text
    assert not state_dir_for(out).exists()  # the journal is gone too

    # the check can see: with --keep-patient-id the raw id is there
    kept = tmp_path / "kept.h5"
    _run(batch, kept, keep_patient_id=True)
    assert PHI["PatientID"] in _all_strings(kept)
    assert PHI["PatientLastName"] not in _all_strings(kept)


def test_strict(batch, tmp_path):
    out = tmp_path / "raw.h5"
    with pytest.raises(StrictRejectError) as exc:
        _run(batch, out, strict=True)
    assert exc.value.exit_code == 4 and "3 of" in str(exc.value)
    assert out.exists()  # everything is written before the exit code says so


def _same_datasets(a: Path, b: Path) -> None:
    with h5py.File(a) as fa, h5py.File(b) as fb:
        names: list[str] = []
        fa.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        assert names
        for n in names:
            if n == "provenance":
                continue
            x, y = fa[n][()], fb[n][()]
            assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), n


def test_jobs_2_gives_the_same_file(batch, tmp_path):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    _run(batch, a, jobs=1, echo=_echo(tmp_path))
    _run(batch, b, jobs=2, echo=_echo(tmp_path))
    _same_datasets(a, b)


@pytest.mark.parametrize("slot_bytes", [4096, 300_000])
def test_samples_that_do_not_fit_a_slot_travel_through_files(batch, tmp_path, monkeypatch, slot_bytes):
    """Slots smaller than one ECG (every ECG through a hand-over file), or than a task (some through
    the slot, the rest through files): the same output as one process."""
    import functools

    from lvsdctl.ingest import handover
    from lvsdctl.ingest import api as ingest_module

    monkeypatch.setattr(ingest_module, "open_slots", functools.partial(handover.open_slots, size=slot_bytes))
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    _run(batch, a, jobs=1)
    _run(batch, b, jobs=2)
    _same_datasets(a, b)


CALLS: list[str] = []
STOP_AFTER = [10**9]


def counting_reader(path: str):
    """The real reader, counted; raises KeyboardInterrupt (like Ctrl-C) after STOP_AFTER calls."""
    if len(CALLS) >= STOP_AFTER[0]:
        raise KeyboardInterrupt
    CALLS.append(path)
    return read_ecg(path)


@pytest.mark.parametrize("compression", ["gzip", "lzf", "none"])
def test_resume_does_not_redo_finished_files(batch, tmp_path, compression):
    out = tmp_path / "raw.h5"
    CALLS.clear()
    STOP_AFTER[0] = 5
    with pytest.raises(KeyboardInterrupt):
        _run(batch, out, reader=counting_reader, commit_every=2, echo=_echo(tmp_path), compression=compression)
    assert not out.exists() and state_dir_for(out).exists()
    assert not list(tmp_path.glob(".raw.h5.partial*"))
    first = list(CALLS)
    assert len(first) == 5

    CALLS.clear()
    STOP_AFTER[0] = 10**9
    s = _run(batch, out, reader=counting_reader, resume=True, echo=_echo(tmp_path), compression=compression)
    n_unique = len(MUSE) + 4  # inputs minus the duplicate
    assert len(CALLS) == n_unique - 5 and not set(CALLS) & set(first)
    assert s.resumed == 5 and s.parsed == n_unique - 5
    assert s.inputs == s.accepted + s.rejected + s.duplicates and s.rejected == 3

    ref = tmp_path / "ref.h5"
    _run(batch, ref, echo=_echo(tmp_path), jobs=2, compression="lzf" if compression == "gzip" else "gzip")
    with h5py.File(out) as fa, h5py.File(ref) as fb:
        pd.testing.assert_frame_equal(read_records(fa), read_records(fb))
        for stream in ("raw/samples", "raw/counts"):
            np.testing.assert_array_equal(fa[stream][()], fb[stream][()])
        assert fa["raw/samples"].compression == (None if compression == "none" else compression)
    assert not state_dir_for(out).exists()


def test_rerun_without_resume_starts_over(batch, tmp_path):
    out = tmp_path / "raw.h5"
    CALLS.clear()
    STOP_AFTER[0] = 3
    with pytest.raises(KeyboardInterrupt):
        _run(batch, out, reader=counting_reader, commit_every=1)
    CALLS.clear()
    STOP_AFTER[0] = 10**9
    s = _run(batch, out, reader=counting_reader)
    # every file is read, the duplicate too (hashed and parsed in one go; it is then left out)
    assert s.resumed == 0 and len(CALLS) == len(MUSE) + 5 and s.parsed == len(MUSE) + 4
    assert any("discarded" in n for n in s.notes)
    STOP_AFTER[0] = 2  # interrupt again, then resume with another threshold: refused
    CALLS.clear()
    with pytest.raises(KeyboardInterrupt):
        _run(batch, out, reader=counting_reader, commit_every=1)
    STOP_AFTER[0] = 10**9
    with pytest.raises(InputError, match="different settings"):
        _run(batch, out, reader=counting_reader, resume=True, threshold=50.0)


def test_atomic_output_on_failure(batch, tmp_path, monkeypatch):
    """A failure while completing the output leaves no output, no partial file, and a state that
    --resume finishes without parsing anything again."""
    from lvsdctl.ingest import state as ingest_state

    def broken(self, f):
        f["raw"].create_group("segments").create_dataset("record", data=[0])
        raise RuntimeError("disk full")

    with monkeypatch.context() as m:
        m.setattr(ingest_state.IngestState, "write_segments", broken)
        out = tmp_path / "raw.h5"
        with pytest.raises(RuntimeError):
            _run(batch, out)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".raw.h5")]
    s = _run(batch, out, resume=True)
    assert s.parsed == 0 and s.resumed == s.inputs - s.duplicates and out.exists()
    with open_input(out, kind="ecg-raw") as f:
        assert len(read_records(f)) == s.written and len(dict(iter_raw_records(f))) == s.written


def test_drop_unpaired_counted(batch, tmp_path):
    out = tmp_path / "raw.h5"
    s = _run(batch, out, echo=_echo(tmp_path), drop_unpaired=True)
    assert s.written == 1 and s.dropped_unpaired == s.accepted - 1
    with open_input(out) as f:
        rec = read_records(f)
        assert list(rec["label"]) == [1]
        assert int(f["raw/segments/record"][()].max()) == 0
    with pytest.raises(InputError, match="needs an echo"):
        _run(batch, out, drop_unpaired=True)
    echo = tmp_path / "other.csv"
    echo.write_text("patient_id,echo_date,lvef\nNOBODY,2020-01-01,50\n")
    with pytest.raises(InputError, match=r"all \d+ accepted ECGs were unpaired and dropped") as exc:
        _run(batch, tmp_path / "none.h5", echo=echo, drop_unpaired=True)
    assert not (tmp_path / "none.h5").exists() and exc.value.summary.accepted > 0


def test_inputs_lists_globs_and_missing(batch, tmp_path, monkeypatch):
    lst = tmp_path / "list.txt"
    lst.write_text(f"# exports\n{batch / 'ecg0.xml'}\n\n{batch / 'absent.xml'}\n")
    items, _ = expand_inputs([str(batch / "sub" / "*.xml"), str(tmp_path / "nothing*.xml")], from_list=lst)
    names = [(Path(i.path).name, i.missing) for i in items]
    assert names[0][0].startswith("ecg") and ("zz_duplicate.xml", "") in names
    assert ("nothing*.xml", "no file matches this pattern") in names
    assert ("ecg0.xml", "") in names and ("absent.xml", "no such file") in names
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(f"{batch / 'ecg0.xml'}\n"))
    s = ingest([], tmp_path / "o.h5", from_list="-", secret=KEY)
    assert (s.inputs, s.accepted) == (1, 1)


def test_wfdb_directory_reads_headers_only(tmp_path):
    d = FIXTURES / "wfdb" / "egm"
    items, skipped = expand_inputs([d])
    assert all(Path(i.path).suffix == ".hea" for i in items) and skipped == len(items)


def test_synthetic_marker_and_demo_secret(batch, tmp_path):
    src = MUSE[0].read_text(encoding="latin-1")
    syn = tmp_path / "syn"
    syn.mkdir()
    (syn / "a.xml").write_text(src.replace("<MuseInfo>", "<MuseInfo><!-- lvsdctl-synth -->", 1), encoding="latin-1")
    s = ingest([syn], tmp_path / "s.h5", demo_secret=True)
    assert s.synthetic
    with open_input(tmp_path / "s.h5") as f:
        assert bool(f.attrs["synthetic"])
    with pytest.raises(InputError, match="synthetic data only"):
        ingest([batch], tmp_path / "real.h5", demo_secret=True)
    assert not (tmp_path / "real.h5").exists()


def test_cli(batch, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from lvsdctl.cli.main import app

    monkeypatch.setenv("LVSDCTL_PSEUDONYM_SECRET", "cli-secret-0123456789")
    out = tmp_path / "raw.h5"
    runner = CliRunner()
    r = runner.invoke(app, ["ingest", str(batch), "--echo", str(_echo(tmp_path)), "-o", str(out), "--json", "-q"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["inputs"] == doc["accepted"] + doc["rejected"] + doc["duplicates"] == len(MUSE) + 5
    r = runner.invoke(app, ["ingest", str(batch), "-o", str(out), "--strict", "-q"])
    assert r.exit_code == 4
    monkeypatch.delenv("LVSDCTL_PSEUDONYM_SECRET")
    r = runner.invoke(app, ["ingest", str(batch), "-o", str(out)])
    assert r.exit_code == 6 and "secret" in r.output


def leaky_reader(path: str):
    """A reader with a bug whose message quotes file content, or one returning NaN samples."""
    from lvsdctl.record import ECGRecord, Segment

    if path.endswith("ecg0.xml"):
        raise ValueError("patient ZZPLANTEDLAST born 1931")
    rec = read_ecg(path)
    if path.endswith("ecg1.xml"):
        return ECGRecord([Segment("I", np.array([0.0, np.nan], np.float32), 500.0)], "muse")
    return rec


def test_unexpected_errors_reported_by_type_only(batch, tmp_path):
    s = _run(batch, tmp_path / "raw.h5", reader=leaky_reader)
    reasons = {Path(r.path).name: r.reason for r in s.rejects}
    assert reasons["ecg0.xml"] == "internal error: ValueError"
    assert reasons["ecg1.xml"] == "lead I: non-finite samples (NaN or infinity)"
    assert "ZZPLANTEDLAST" not in Path(f"{tmp_path / 'raw.h5'}.rejects.json").read_text()
    assert s.inputs == s.accepted + s.rejected + s.duplicates


def test_demo_secret_refused_for_a_mixed_batch(tmp_path):
    d = tmp_path / "mixed"
    d.mkdir()
    src = MUSE[0].read_text(encoding="latin-1")
    (d / "syn.xml").write_text(src.replace("<MuseInfo>", "<MuseInfo><!-- lvsdctl-synth -->", 1), encoding="latin-1")
    shutil.copy(MUSE[1], d / "real.xml")
    with pytest.raises(InputError, match="1 of the accepted ECGs"):
        ingest([d], tmp_path / "m.h5", demo_secret=True)
    assert not state_dir_for(tmp_path / "m.h5").exists()  # a refusal leaves nothing to resume
    s = ingest([d], tmp_path / "m.h5", demo_secret=True, synthetic=True)  # user's assertion
    assert s.synthetic and s.synthetic_records == 1


def test_without_echo_table_everything_unlabelled(batch, tmp_path):
    s = _run(batch, tmp_path / "raw.h5")
    assert s.pairing == {"paired": 0, "lvsd": 0, "no_lvsd": 0, "unpaired": s.accepted,
                         "unpaired: no echo table": s.accepted}
    with pytest.raises(StrictRejectError) as exc:
        _run(batch, tmp_path / "raw.h5", strict=True)
    assert exc.value.summary.rejected == 3  # the counts travel with the exit code


def test_one_fixture_of_every_format(tmp_path):
    files = [INTRO, FIXTURES / "hl7_aecg" / "fda-aecg-python" / "Example aECG.xml",
             FIXTURES / "dicom" / "pydicom" / "waveform_ecg.dcm",
             FIXTURES / "philips_xml" / "sierra-ecg-tools" / "129DYPRG.XML",
             FIXTURES / "scp" / "ecg-contec" / "Example.scp",
             FIXTURES / "wfdb" / "ecg-image-kit" / "00001_lr.hea",
             FIXTURES / "wfdb" / "torch_ecg_cinc2021" / "E00666.hea"]  # malformed record line
    s = ingest(files, tmp_path / "all.h5", secret=KEY, jobs=2)
    assert (s.inputs, s.accepted, s.rejected) == (7, 6, 1)
    assert s.rejects[0].path.endswith("E00666.hea")
    with open_input(tmp_path / "all.h5") as f:
        rec = read_records(f)
        assert sorted(rec["source_format"]) == ["dicom", "hl7aecg", "muse", "philips", "scp", "wfdb"]
        assert (rec["fs"] > 0).all()
        for i, segments in iter_raw_records(f):
            assert segments and all(np.isfinite(g.signal).all() for g in segments)


def test_output_inside_the_input_folder_is_not_an_input(batch, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _run(batch, batch / "raw.h5")
    s = _run(Path("exports"), (batch / "raw.h5").resolve())  # relative inputs, absolute output
    assert s.inputs == len(MUSE) + 5 and s.rejected == 3


def test_a_fifo_is_rejected_not_waited_on(tmp_path):
    import os

    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(MUSE[0], d / "a.xml")
    os.mkfifo(d / "pipe.xml")
    s = ingest([d], tmp_path / "o.h5", secret=KEY)
    assert (s.accepted, s.rejected) == (1, 1) and s.rejects[0].reason == "not a regular file"


def test_nothing_accepted_is_an_error_with_every_reject_listed(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text("<RestingECG><Waveform>")
    out = tmp_path / "raw.h5"
    with pytest.raises(InputError, match="no ECG was accepted: 2 input") as exc:
        ingest([str(bad), str(tmp_path / "missing.xml")], output=out, demo_secret=True, synthetic=True)
    assert not out.exists() and not Path(f"{out}.ingest-state").exists()
    assert exc.value.summary.rejected == 2
    report = Path(f"{out}.rejects.csv").read_text()
    assert "bad.xml" in report and "missing.xml" in report


@pytest.mark.parametrize("resume", [False, True])
def test_the_same_file_named_twice_is_a_duplicate(tmp_path, resume):
    """A path given twice is byte-identical to itself: ingested once, the repeat counted as a duplicate
    (also when resuming, where every input is hashed before any is parsed)."""
    out = tmp_path / "raw.h5"
    files = [MUSE[0], MUSE[1], MUSE[0]]
    if resume:  # an interrupted run's state that finished MUSE[1] only
        CALLS.clear()
        STOP_AFTER[0] = 1
        with pytest.raises(KeyboardInterrupt):
            ingest([MUSE[1], MUSE[2]], out, secret=KEY, reader=counting_reader, commit_every=1)
        STOP_AFTER[0] = 10**9
    s = ingest(files, out, secret=KEY, resume=resume)
    assert (s.inputs, s.accepted, s.duplicates, s.written) == (3, 2, 1, 2)
    assert s.duplicate_files[0].path == str(MUSE[0]) == s.duplicate_files[0].duplicate_of
    assert s.resumed == (1 if resume else 0)
