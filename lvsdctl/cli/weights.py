"""`lvsdctl weights list | fetch | verify`: the checkpoints lvsdctl knows, downloaded and checked."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from lvsdctl.cli.app import app
from lvsdctl.cli.options import Json, OptionalOutput, Quiet

weights_app = typer.Typer(
    short_help="Foundation-model weights: list, fetch (Hugging Face hub, SHA-256 checked), verify.",
    help=(
        "The foundation-model checkpoints lvsdctl knows, pinned to a Hugging Face hub revision with the "
        "SHA-256 the Hub publishes for each file. `finetune` and `pretrain` never download: fetch once, "
        "on a machine with internet, then copy the weights directory to air-gapped servers if need be.\n\n"
        "  lvsdctl weights list\n\n"
        "  # the study's two files\n"
        "  lvsdctl weights fetch ecgfm-pretrained ecgfm-physionet-finetuned\n\n"
        "  lvsdctl weights verify\n\n"
        "The weights directory is --weights-dir, else $LVSDCTL_WEIGHTS_DIR, else ~/.cache/lvsdctl/weights. "
        "Downloads go through huggingface_hub: its cache, HF_HUB_OFFLINE=1 (cache only), HF_ENDPOINT (a "
        "mirror) and HF_TOKEN apply."
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(weights_app, name="weights")

WeightsDir = Annotated[
    Optional[str],
    typer.Option("--weights-dir", metavar="DIR", envvar="LVSDCTL_WEIGHTS_DIR", show_envvar=True,
                 help="Weights directory (default ~/.cache/lvsdctl/weights)."),
]


def _size(n: int | None, approx: str = "") -> str:
    if n is None:
        return f"~{approx}" if approx else "?"
    return f"{n / 1e9:.2f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB"


@weights_app.command("list", short_help="Every known checkpoint: repository, file, revision, size, licence, use.")
def list_cmd(weights_dir: WeightsDir = None, output: OptionalOutput = None, json_out: Json = False,
             quiet: Quiet = False) -> None:
    """Every checkpoint lvsdctl knows, with its repository, revision, size, SHA-256, licence, what it is
    for, and whether it is in the weights directory (not hashed here: `lvsdctl weights verify` does).
    -o writes the listing as JSON (the document --json prints).

    Example: lvsdctl weights list --json"""
    from lvsdctl.cli.console import emit_json, line, write_document
    from lvsdctl.weights import list_weights

    listing = list_weights(weights_dir=weights_dir)
    if output:
        write_document(listing, output)
    if json_out:
        emit_json(listing)
    if json_out or quiet or output == "-":
        return
    line(str(listing.weights_dir), label="weights directory")
    for row in listing.weights:
        state = row["state"]
        colour = "green" if state == "fetched" else "red" if state in ("wrong size", "hash differs") else "yellow"
        rev = row["revision"][:12] + ("" if row["pinned"] else " (not pinned)")
        sha = f"SHA-256 {row['sha256'][:16]}..." if row["sha256"] else "SHA-256: the Hub's, checked at fetch"
        line("")
        line(state, style=colour, label=row["name"])
        for text in (f"{row['repo']} @ {rev}, {row['licence']}",
                     f"{row['filename']} ({_size(row['size'], row['approx_size'])})", sha, row["purpose"]):
            line(f"  {text}")


@weights_app.command("fetch", short_help="Download checkpoints into the weights directory; SHA-256 checked.")
def fetch_cmd(
    names: Annotated[list[str], typer.Argument(help="Catalog names (`lvsdctl weights list`) or official file names.")],
    weights_dir: WeightsDir = None,
    revision: Annotated[Optional[str], typer.Option("--revision", metavar="REV", help="Another Hub revision than the catalog's "
                                                   "pinned one (its published SHA-256 is then checked).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Download again, replacing the file in the weights "
                                        "directory.")] = False,
    cache_dir: Annotated[Optional[str], typer.Option("--cache-dir", metavar="DIR", help="huggingface_hub's cache "
                                                     "(default: its own, $HF_HUB_CACHE).")] = None,
    output: OptionalOutput = None,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    """Download checkpoints from the Hugging Face hub (resuming after network errors), check each file's
    SHA-256 against the catalog's pinned one (or the Hub's published one where the catalog has none), then
    place it under its official name in the weights directory with the hash recorded beside it
    (FILE.sha256). A truncated or mismatching download is deleted, never left looking complete. -o writes
    what was fetched, with each file's SHA-256, as JSON (the document --json prints).

    Example: lvsdctl weights fetch ecgfm-pretrained ecgfm-physionet-finetuned"""
    from lvsdctl.cli.console import emit_json, line, write_document
    from lvsdctl.cli.progress import reporting
    from lvsdctl.weights import fetch

    results = []
    for name in names:
        with reporting(f"{name}: download + SHA-256", quiet=quiet, unit="bytes") as progress:
            result = fetch(name, weights_dir=weights_dir, revision=revision, force=force, cache_dir=cache_dir,
                           progress=progress)
        results.append(result)
        if quiet:
            continue
        line(f"{result.name}: {result.status} -> {result.path}")
        line(f"  SHA-256 {result.sha256} (checked against {result.checked_against}"
             + (f", commit {result.commit[:12]}" if result.commit else "") + ")")
        for note in result.notes:
            line(f"  note: {note}", style="yellow")
    if output:
        write_document(results, output)
    if json_out:
        emit_json(results)


@weights_app.command("verify", short_help="Re-hash checkpoints and say which version each file is.")
def verify_cmd(
    names: Annotated[Optional[list[str]], typer.Argument(help="Catalog names or files (default: every "
                                                        "catalogued file in the weights directory).")] = None,
    weights_dir: WeightsDir = None,
    output: OptionalOutput = None,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    """Re-hash checkpoints (SHA-256) and compare each with the catalog's pinned hash, the recognised older
    uploads, and the hash recorded at fetch. Exit code 3 if a file differs or cannot be read, 6 if a named
    one is missing. -o writes the report as JSON (the document --json prints).

    Example: lvsdctl weights verify ecgfm-physionet-finetuned"""
    from lvsdctl.cli.console import emit_json, line, write_document
    from lvsdctl.cli.progress import reporting
    from lvsdctl.weights import verify

    with reporting("hashing", quiet=quiet, unit="bytes") as progress:
        report = verify(names or None, weights_dir=weights_dir, progress=progress)
    if output:
        write_document(report, output)
    if json_out:
        emit_json(report)
    if not quiet:
        if not report.files:
            line(f"no catalogued checkpoint in {report.weights_dir} (`lvsdctl weights list`)")
        colour = {"ok": "green", "recorded": "green", "older": "yellow", "unpinned": "yellow", "unknown": "yellow"}
        for f in report.files:
            line(f"{f.name or '-'}: {f.path}", style=colour.get(f.status, "red"), label=f.status)
            for text in (f"SHA-256 {f.sha256}" if f.sha256 else "", f.detail or ""):
                if text:
                    line(f"  {text}")
    if any(f.status in ("mismatch", "unreadable") for f in report.files):
        raise typer.Exit(3)
    if any(f.status == "missing" for f in report.files):
        raise typer.Exit(6)
