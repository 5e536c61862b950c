"""Patient pseudonyms: a keyed hash (HMAC-SHA256) of the patient id with a secret the site keeps.

Why keyed: a plain hash of a medical record number can be reversed by hashing every possible number;
without the site's secret nobody can. The same id and the same secret always give the same pseudonym,
so ECG exports and the echo table (and later exports of the same site) still meet on it.

The secret comes from a file (`--secret-file`) or the environment variable
`LVSDCTL_PSEUDONYM_SECRET`. There is no silent default: without a secret, ingest stops and explains
how to create one. `--demo-secret` uses a fixed, public key for synthetic data only.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from lvsdctl.errors import InputError, MissingResourceError

ENV_VAR = "LVSDCTL_PSEUDONYM_SECRET"
#: A public key for synthetic demo data. Pseudonyms made with it protect nothing.
DEMO_SECRET = b"lvsdctl-demo-key: public, for synthetic data only"
#: Pseudonyms are the first 16 hex digits (64 bits) of the HMAC, prefixed so they never look like an id.
PSEUDONYM_HEX = 16
MIN_SECRET_BYTES = 16

HOW_TO_CREATE = (
    "create one once per site and keep it private (the same secret must be used for every export "
    "of the site, or patients will not match across runs):\n"
    "  python -c \"import secrets; print(secrets.token_hex(32))\" > site.secret && chmod 600 site.secret\n"
    "then pass --secret-file site.secret, or export LVSDCTL_PSEUDONYM_SECRET=$(cat site.secret). "
    "For synthetic data only, --demo-secret uses a public key."
)


@dataclass(frozen=True)
class Secret:
    """The HMAC key and where it came from ("file", "env" or "demo"); never printed."""

    key: bytes
    source: str

    def __repr__(self) -> str:  # keep the key out of tracebacks and logs
        return f"Secret(source={self.source!r}, key_id={self.key_id!r})"

    @property
    def key_id(self) -> str:
        """A short fingerprint that tells two keys apart without revealing them (recorded in provenance)."""
        return hmac.new(self.key, b"lvsdctl key id", hashlib.sha256).hexdigest()[:8]

    @property
    def is_demo(self) -> bool:
        return self.source == "demo"


def load_secret(
    secret_file: str | Path | None = None,
    *,
    demo: bool = False,
    env: Mapping[str, str] | None = None,
) -> Secret:
    """The site's secret from `secret_file`, else the environment variable, else the demo key if asked.

    Raises MissingResourceError (exit 6) with instructions when there is none, InputError when it is
    too short or unreadable.
    """
    env = os.environ if env is None else env
    if secret_file is not None and demo:
        raise InputError("give either --secret-file or --demo-secret, not both")
    if secret_file is not None:
        path = Path(secret_file)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise InputError(f"{path}: cannot read the secret file ({exc.strerror})") from None
        key, source = raw.strip(), "file"
        where = str(path)
    elif env.get(ENV_VAR):
        key, source, where = env[ENV_VAR].strip().encode(), "env", ENV_VAR
    elif demo:
        return Secret(DEMO_SECRET, "demo")
    else:
        raise MissingResourceError(f"no pseudonymisation secret: {HOW_TO_CREATE}")
    if len(key) < MIN_SECRET_BYTES:
        raise InputError(f"{where}: the secret is shorter than {MIN_SECRET_BYTES} bytes; {HOW_TO_CREATE}")
    return Secret(key, source)


def normalise_id(patient_id: object) -> str:
    """The form of an id that is hashed: text with surrounding blanks removed ("" when missing).

    Leading zeros are kept (they are significant in many record-number schemes); a whole number read
    from a spreadsheet as a float ("123.0") is written as an integer.
    """
    if patient_id is None:
        return ""
    if isinstance(patient_id, float):
        if patient_id != patient_id:  # NaN
            return ""
        if patient_id.is_integer():
            return str(int(patient_id))
    return str(patient_id).strip()


def pseudonym(patient_id: object, secret: Secret) -> str:
    """The pseudonym of one patient id ("" for a missing id)."""
    text = normalise_id(patient_id)
    if not text:
        return ""
    digest = hmac.new(secret.key, text.encode("utf-8"), hashlib.sha256).hexdigest()
    return "p" + digest[:PSEUDONYM_HEX]


def pseudonymise(ids: Iterable[object], secret: Secret) -> list[str]:
    """Pseudonyms of many ids; raises InputError if two different ids collide (astronomically rare)."""
    cache: dict[str, str] = {}
    seen: dict[str, str] = {}
    out: list[str] = []
    for raw in ids:
        text = normalise_id(raw)
        p = cache.get(text)
        if p is None:
            p = pseudonym(text, secret)
            cache[text] = p
            if p and seen.setdefault(p, text) != text:
                raise InputError("two different patient ids have the same pseudonym; use a different secret")
        out.append(p)
    return out
