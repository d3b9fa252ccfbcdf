"""A synthetic invoice corpus with ground truth: master data, documents, labels, anomalies.

Public labelled invoice sets have no purchase orders, vendor master, coding history,
duplicates or price variances, and they are small. `generate_corpus` makes all of these,
deterministically for a seed, at any size:

    from invoices.synthetic import generate_corpus
    summary = generate_corpus(tmp_path / "corpus", invoices=30, seed=7, scanned_share=0.0)

Output: `master/*.csv` (data/master/README.md), `docs/<doc_id>.pdf|png|jpg`,
`labels/<doc_id>.json` (eval-label/v1 plus a `truth` key) and `manifest.jsonl`.
"""

from invoices.synthetic.corpus import Summary, generate_corpus
from invoices.synthetic.model import ANOMALY_KINDS
from invoices.synthetic.plan import DEFAULT_ANOMALY_RATES, Options

__all__ = ["ANOMALY_KINDS", "DEFAULT_ANOMALY_RATES", "Options", "Summary", "generate_corpus"]
