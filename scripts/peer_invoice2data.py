"""Side by side with invoice2data: its shipped templates and ours, scored by the same scorer.

    python scripts/peer_invoice2data.py /work/shared/eval/zugferd [--split dev]

Installs invoice2data (PyPI) into a private virtualenv under `.cache/peer-invoice2data` (so its
dependencies never touch the project's), runs it with its templates as shipped on every
document of the folder, maps its output keys to our field names, then scores both tools with
`invoices eval` (ours on the visual path, `--no-einvoice`) and prints one table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEER_ENV = ROOT / ".cache" / "peer-invoice2data"
PEER_PACKAGES = ["invoice2data==1.0.1", "pdfplumber"]  # pdfplumber: one of its input readers

# Runs inside the peer's virtualenv: one JSON line per document.
RUNNER = r"""
import json, sys, datetime, logging
logging.disable(logging.CRITICAL)
from invoice2data import extract_data
from invoice2data.extract.loader import read_templates
templates = read_templates()
for raw in sys.stdin:
    doc_id, path = json.loads(raw)
    readers = ["text"] if path.endswith(".txt") else ["pdftotext", "pdfplumber", "tesseract"]
    result = {}
    for reader in readers:  # its readers in turn, as a user would retry a file no template matched
        try:
            result = extract_data(path, templates=templates, input_module=reader) or {}
        except Exception as exc:
            result = {"_error": repr(exc)}
        if result and "_error" not in result:
            break
    print(json.dumps([doc_id, result], default=str), flush=True)
"""

KEYS = {
    "issuer": "vendor_name",
    "invoice_number": "invoice_number",
    "date": "invoice_date",
    "date_due": "due_date",
    "amount": "total",
    "amount_untaxed": "subtotal",
    "amount_tax": "tax",
    "currency": "currency",
    "vat": "vendor_vat_id",
    "po_number": "po_number",
    "purchase_order_id": "po_number",
    "iban": "iban",
}


def ensure_peer() -> Path:
    """The peer's python, installing invoice2data on first use."""
    python = PEER_ENV / "bin" / "python"
    if not python.exists():
        venv.create(PEER_ENV, with_pip=True)
    check = subprocess.run(
        [str(python), "-c", "import invoice2data, pdfplumber"], capture_output=True
    )
    if check.returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PEER_PACKAGES], check=True)
    return python


def _prediction(result: dict) -> dict:
    fields = {}
    for key, name in KEYS.items():
        value = result.get(key)
        if value not in (None, "") and name not in fields:
            fields[name] = {
                "value": str(value)[:10] if "date" in name else value,
                "confidence": 1.0,
            }
    lines = [
        {
            "description": line.get("name"),
            "quantity": line.get("qty"),
            "unit_price": line.get("price_unit"),
            "line_total": line.get("price_subtotal"),
        }
        for line in result.get("lines") or []
        if isinstance(line, dict) and line.get("name")
    ]
    return {"fields": fields, "lines": lines}


def run_peer(folder: Path, split: str | None) -> dict[str, dict]:
    """invoice2data's predictions for every document of a labelled folder."""
    python = ensure_peer()
    jobs = []
    for raw in (folder / "manifest.jsonl").read_text().splitlines():
        row = json.loads(raw)
        if split and row.get("split") != split:
            continue
        jobs.append(json.dumps([row["doc_id"], str(folder / row["documents"][0])]))
    out = subprocess.run(
        [str(python), "-c", RUNNER],
        input="\n".join(jobs),
        text=True,
        capture_output=True,
        check=True,
    )
    results = dict(json.loads(line) for line in out.stdout.splitlines() if line.startswith("["))
    return {doc_id: _prediction(result) for doc_id, result in results.items()}


def _eval(folder: Path, split: str | None, extra: list[str]) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        cmd = [
            sys.executable,
            "-m",
            "cli.main",
            "eval",
            str(folder),
            "--json",
            out.name,
            *extra,
        ]
        if split:
            cmd += ["--split", split]
        subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        return json.loads(Path(out.name).read_text())


def main(argv: list[str] | None = None) -> int:
    """Run both tools on a folder and print their scores side by side."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--split", default=None)
    parser.add_argument("--workers", default="1")
    args = parser.parse_args(argv)
    peer = run_peer(args.folder, args.split)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as tmp:
        json.dump(peer, tmp)
    theirs = _eval(args.folder, args.split, ["--predictions", tmp.name])
    ours = _eval(args.folder, args.split, ["--no-einvoice", "--workers", args.workers])
    Path(tmp.name).unlink()
    print(f"{args.folder.name}: {ours['documents']} documents")
    print(f"{'field':<24}{'ours rec':>9}{'prec':>7}{'i2d rec':>9}{'prec':>7}{'labelled':>9}")
    for name in sorted(ours["fields"]):
        a, b = ours["fields"][name], theirs["fields"].get(name, {"recall": 0, "precision": 0})
        print(
            f"{name:<24}{a['recall']:>9.3f}{a['precision']:>7.3f}{b['recall']:>9.3f}"
            f"{b['precision']:>7.3f}{a['labelled']:>9}"
        )
    a, b = ours["line_items"], theirs["line_items"]
    print(f"{'line items F1':<24}{a['f1']:>9.3f}{'':>7}{b['f1']:>9.3f}")
    a, b = ours["overall"], theirs["overall"]
    print(
        f"{'overall':<24}{a['recall']:>9.3f}{a['precision']:>7.3f}{b['recall']:>9.3f}"
        f"{b['precision']:>7.3f}{a['labelled']:>9}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
