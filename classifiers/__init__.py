"""Classification: document type, GL account and cost centre per line, approval route.

Once per run (`flows.classification` wires the store to Postgres and the shared embedder)::

    cascade = classifiers.runtime.open_cascade(settings, store, run_id=run_id, embedder=embedder)

per document::

    ctx = classifiers.ClassificationContext(cascade, vendor_id=..., vendor_name=..., text=...)
    result = classifiers.classify(invoice, ctx, settings)   # -> Classification

and at the end ``cascade.run_metrics()`` and ``cascade.close()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from classifiers.cascade import Cascade, ClassificationContext, DocumentClassifier
from classifiers.records import Classification, LineCoding, Suggestion

if TYPE_CHECKING:
    from invoices.records import Invoice
    from invoices.settings import Settings

__all__ = [
    "Cascade",
    "Classification",
    "ClassificationContext",
    "DocumentClassifier",
    "LineCoding",
    "Suggestion",
    "classify",
]


def classify(
    invoice: Invoice, context: ClassificationContext, settings: Settings
) -> Classification:
    """Classify one document with the run's cascade (carried by `context`).

    `settings` is accepted for the stage interface; the cascade was built from it.
    """
    del settings
    return context.cascade.classify(invoice, context)
