"""Pseudonyms: keyed, stable, never the raw id; a missing secret is refused with instructions."""

from __future__ import annotations

import re

import pytest

from lvsdctl.errors import InputError, MissingResourceError
from lvsdctl.ingest.pseudonym import ENV_VAR, Secret, load_secret, pseudonym, pseudonymise

KEY_A = Secret(b"a" * 32, "file")
KEY_B = Secret(b"b" * 32, "file")


def test_stable_and_keyed():
    assert pseudonym("201700237", KEY_A) == pseudonym("201700237", KEY_A)
    assert pseudonym("201700237", KEY_A) != pseudonym("201700237", KEY_B)
    assert pseudonym("201700237", KEY_A) != pseudonym("201700238", KEY_A)
    p = pseudonym("201700237", KEY_A)
    assert re.fullmatch(r"p[0-9a-f]{16}", p)
    assert "201700237" not in p


def test_normalisation_blanks_floats_and_missing():
    assert pseudonym("  0042 ", KEY_A) == pseudonym("0042", KEY_A)
    assert pseudonym("0042", KEY_A) != pseudonym("42", KEY_A)  # leading zeros are significant
    assert pseudonym(123.0, KEY_A) == pseudonym("123", KEY_A)  # a spreadsheet's number
    assert pseudonym(None, KEY_A) == pseudonym(float("nan"), KEY_A) == pseudonym("  ", KEY_A) == ""
    assert pseudonymise(["1", "2", "1", None], KEY_A) == [pseudonym("1", KEY_A), pseudonym("2", KEY_A),
                                                         pseudonym("1", KEY_A), ""]


def test_secret_from_file_and_env(tmp_path):
    f = tmp_path / "site.secret"
    f.write_text("0123456789abcdef0123456789abcdef\n")
    s = load_secret(f, env={})
    assert s.key == b"0123456789abcdef0123456789abcdef" and s.source == "file"
    e = load_secret(None, env={ENV_VAR: "0123456789abcdef0123456789abcdef"})
    assert e.source == "env" and e.key_id == s.key_id  # same key, same fingerprint
    assert "0123456789abcdef" not in repr(s)  # never in tracebacks


def test_missing_secret_refused_with_instructions():
    with pytest.raises(MissingResourceError) as exc:
        load_secret(None, env={})
    assert exc.value.exit_code == 6
    assert "secrets.token_hex" in str(exc.value) and ENV_VAR in str(exc.value)


def test_short_or_conflicting_secret(tmp_path):
    f = tmp_path / "short"
    f.write_text("abc")
    with pytest.raises(InputError, match="shorter than"):
        load_secret(f, env={})
    with pytest.raises(InputError, match="either"):
        load_secret(f, demo=True, env={})
    with pytest.raises(InputError, match="cannot read"):
        load_secret(tmp_path / "absent", env={})


def test_demo_secret_only_when_asked():
    d = load_secret(None, demo=True, env={})
    assert d.is_demo and d.source == "demo"
    # a real secret in the environment wins over the demo key
    assert load_secret(None, demo=True, env={ENV_VAR: "x" * 20}).source == "env"
