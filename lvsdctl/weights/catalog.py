"""Every checkpoint lvsdctl knows: where it lives on the Hugging Face hub, pinned, and what it is for.

Each entry names one file of one repository at one revision, with the size and the SHA-256 the Hub
publishes for it (its Git LFS object id, shown on the file's page as "SHA256"). Values come from the
Hub's own pages; where a value could not be read there, the entry says so (``sha256=None``) and
``fetch`` checks the download against the SHA-256 the Hub serves for the file at download time
(its ``X-Linked-Etag``), records it, and says that it was not pinned. No hash here is guessed.

``older`` lists hashes of earlier uploads of the same file that lvsdctl recognises, so ``verify`` can
tell a user which version they hold (e.g. the first ``physionet_finetuned.pt``, replaced a day later).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from lvsdctl.errors import InputError

HUB_URL = "https://huggingface.co"
_COMMIT = re.compile(r"[0-9a-f]{40}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class KnownHash:
    """An earlier upload of a catalogued file: its SHA-256 and what it was."""

    sha256: str
    what: str


@dataclass(frozen=True)
class WeightsEntry:
    name: str  # what users type: `lvsdctl weights fetch NAME`, `finetune --weights NAME`
    family: str  # ecgfm | ecgfounder
    repo: str
    filename: str  # the official file name, kept as is in the weights directory
    revision: str  # a 40-hex commit where one was published; else a branch (see `note`)
    size: int | None  # bytes, as the Hub publishes them; None where not readable
    sha256: str | None  # the Hub's LFS SHA-256 at `revision`; None where not readable
    licence: str
    purpose: str
    older: tuple[KnownHash, ...] = ()
    approx_size: str = ""  # as the Hub's file page shows it ("1.08 GB")
    commit_hint: str = ""  # the short commit the Hub showed as the file's latest, where the full one is unknown
    also_in: tuple[str, ...] = ()  # other repositories holding the very same file
    note: str = ""

    @property
    def pinned(self) -> bool:
        """True when both the revision (a commit) and the SHA-256 are fixed by the catalog."""
        return bool(_COMMIT.fullmatch(self.revision)) and self.sha256 is not None

    @property
    def page(self) -> str:
        return f"{HUB_URL}/{self.repo}/blob/{self.revision}/{self.filename}"

    def identify(self, sha256: str) -> str | None:
        """'current' for the pinned hash, the description of a recognised older upload, else None."""
        if self.sha256 is not None and sha256 == self.sha256:
            return "current"
        for known in self.older:
            if sha256 == known.sha256:
                return known.what
        return None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["older"] = [asdict(k) for k in self.older]
        d["also_in"] = list(self.also_in)
        d["pinned"] = self.pinned
        d["page"] = self.page
        return d


_ECGFM_NOTE = ("ECG-FM (McKeen et al., arXiv 2408.05178), the public BERT-Base-sized models trained on public "
               "data (not the paper's UHN model).")
_UNPINNED = ("The full commit id and the LFS SHA-256 of this file were not available where lvsdctl's catalog was "
             "made: `lvsdctl weights fetch` checks the download against the SHA-256 the Hub publishes for it at "
             "download time and records it beside the file; `--revision COMMIT` pins a commit.")

_HASH_AT_FETCH = ("Its LFS SHA-256 was not available where lvsdctl's catalog was made: `lvsdctl weights fetch` "
                  "checks the download against the SHA-256 the Hub publishes for it at the pinned commit and "
                  "records it beside the file.")

CATALOG: tuple[WeightsEntry, ...] = (
    WeightsEntry(
        name="ecgfm-pretrained",
        family="ecgfm",
        repo="wanglab/ecg-fm-preprint",
        filename="mimic_iv_ecg_physionet_pretrained.pt",
        revision="8fb94b0b7fe0b929f8eb469a92e52ae676850a6f",
        size=1_090_825_421,
        sha256="4d0142bcb485eb9f0c7845e0c19ff3463f6ae9d0e458eab69136efe90ceb9b7e",
        licence="MIT",
        purpose="single-step (SS) start, finetune's default: self-supervised on MIMIC-IV-ECG and "
                "PhysioNet 2021",
        approx_size="1.09 GB",
        also_in=("wanglab/ecg-fm",),
        note=_ECGFM_NOTE + " Uploaded in commit abf3d8c (2024-08-07); the same object is in wanglab/ecg-fm.",
    ),
    WeightsEntry(
        name="ecgfm-physionet-finetuned",
        family="ecgfm",
        repo="wanglab/ecg-fm-preprint",
        filename="physionet_finetuned.pt",
        revision="8fb94b0b7fe0b929f8eb469a92e52ae676850a6f",
        size=None,
        sha256="668c86ddc6a38ba138bd374c5bab388d839f5c36c807e28e97674de6dafae412",
        licence="MIT",
        purpose="sequential (Sq) start as in the study, --sequential's default: the above, fine-tuned "
                "on PhysioNet 2021's labels",
        older=(KnownHash("96ecf96d044e735f6477a022d36d5a00f714693ee5e563faf19e47e9d319f28e",
                         "the first upload (commit abf3d8c, 2024-08-07), replaced on 2024-08-08 by commit 00ab373 "
                         "'Updated label_file configuration'"),),
        approx_size="1.08 GB",
        note=_ECGFM_NOTE + " Its current version dates from commit 00ab37396e6d39dcead6d1cacd0d984d1e3b6bcb.",
    ),
    WeightsEntry(
        name="ecgfm-mimic-finetuned",
        family="ecgfm",
        repo="wanglab/ecg-fm",
        filename="mimic_iv_ecg_finetuned.pt",
        revision="584219ea492cdeef2e19ffbdf9c6ecc874ba427e",
        size=None,
        sha256=None,
        licence="MIT",
        purpose="sequential start from MIMIC-IV-ECG's 17 labels: "
                "--sequential --weights ecgfm-mimic-finetuned",
        approx_size="1.08 GB",
        note=_ECGFM_NOTE + " Added by commit 584219e ('Update models and README.'), the file's latest. "
             + _HASH_AT_FETCH,
    ),
    WeightsEntry(
        name="ecgfounder-12lead",
        family="ecgfounder",
        repo="PKUDigitalHealth/ECGFounder",
        filename="12_lead_ECGFounder.pth",
        revision="main",
        size=None,
        sha256=None,
        licence="MIT",
        purpose="ECGFounder (Li et al., NEJM AI 2025), 12-lead, 150 labels: "
                "finetune --backbone ecgfounder",
        note=_UNPINNED,
    ),
    WeightsEntry(
        name="ecgfounder-1lead",
        family="ecgfounder",
        repo="PKUDigitalHealth/ECGFounder",
        filename="1_lead_ECGFounder.pth",
        revision="main",
        size=None,
        sha256=None,
        licence="MIT",
        purpose="ECGFounder, single lead (lead I), 150 labels",
        note=_UNPINNED,
    ),
)

#: The study's two starting points (what `finetune` uses without --weights).
PRETRAINED = "ecgfm-pretrained"
SEQUENTIAL = "ecgfm-physionet-finetuned"


def lookup(name: str, catalog: tuple[WeightsEntry, ...] | None = None) -> WeightsEntry | None:
    """The entry called ``name``, or whose official file name is ``name``; None if there is none."""
    for entry in catalog if catalog is not None else CATALOG:
        if name in (entry.name, entry.filename):
            return entry
    return None


def get(name: str, catalog: tuple[WeightsEntry, ...] | None = None) -> WeightsEntry:
    """``lookup`` that refuses an unknown name with the list of known ones (exit code 3)."""
    entry = lookup(name, catalog)
    if entry is None:
        known = ", ".join(e.name for e in (catalog if catalog is not None else CATALOG))
        raise InputError(f"no checkpoint called {name!r} in lvsdctl's catalog (known: {known}; "
                         "`lvsdctl weights list` shows them)")
    return entry


def check_catalog(catalog: tuple[WeightsEntry, ...]) -> None:
    """Internal consistency: unique names and file names, well-formed commits and hashes."""
    names = [e.name for e in catalog]
    files = [e.filename for e in catalog]
    if len(set(names)) != len(names) or len(set(files)) != len(files):
        raise ValueError("catalog names and file names must be unique")
    for e in catalog:
        for sha in [e.sha256, *(k.sha256 for k in e.older)]:
            if sha is not None and not _SHA256.fullmatch(sha):
                raise ValueError(f"{e.name}: malformed SHA-256 {sha!r}")
        if e.sha256 is not None and not _COMMIT.fullmatch(e.revision):
            raise ValueError(f"{e.name}: a pinned SHA-256 needs a pinned commit")


def is_sha256(value: str | None) -> bool:
    return bool(value) and bool(_SHA256.fullmatch(value))

