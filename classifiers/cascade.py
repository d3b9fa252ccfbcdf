"""The classification cascade: document type, GL and cost centre per line, approval route.

History first; the LLM only for lines whose history confidence is under the threshold; the
LLM's answer accepted only when valid and confident, else the line keeps the history's best
guess and goes to the exception queue as GL_UNCERTAIN. When the LLM is down or the budget is
spent the line keeps the history's guess with LLM_UNAVAILABLE / LLM_BUDGET_EXHAUSTED: nothing
is lost and the batch goes on.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from classifiers.approval import ApprovalRule, route_invoice
from classifiers.doctype import classify_document_type
from classifiers.history import HistoryModel
from classifiers.llm import Hint
from classifiers.llm_backend import LLMBackend
from classifiers.records import Classification, LineCoding, LineQuery, LLMUsage, Suggestion
from classifiers.store import Embedder, embedder_name
from invoices.records import DocumentType, Invoice, ReasonCode

log = logging.getLogger(__name__)

NOT_PAYABLE = {DocumentType.STATEMENT, DocumentType.REMINDER, DocumentType.OTHER}


class DocumentClassifier(Protocol):
    """The classification stage for a run: document type, GL coding and approval route of each
    document, the run's LLM usage at the end, and `close` when the run is over."""

    def classify(self, invoice: Invoice, ctx: ClassificationContext) -> Classification:
        """The classification of one document."""
        ...

    def run_metrics(self) -> dict[str, Any]:
        """What the run spent (documents, lines, LLM calls and tokens) and the model versions."""
        ...

    def close(self) -> None:
        """Release what the run opened (LLM client, store connection)."""
        ...


@dataclass(frozen=True)
class ClassificationContext:
    """What the classifier needs besides the invoice: the run's cascade and the match result."""

    cascade: DocumentClassifier
    vendor_id: str | None = None
    vendor_name: str | None = None
    text: str = ""


@dataclass
class Cascade:
    """One per run: the loaded history model, the guarded LLM backend and the routing rules."""

    history: HistoryModel | None
    embedder: Embedder | None
    llm: LLMBackend | None
    rules: list[ApprovalRule]
    history_threshold: float = 0.6
    llm_threshold: float = 0.6
    conflict_floor: float = 0.3  # history this sure vetoes an LLM answer outside its top 3
    usage: LLMUsage = field(default_factory=LLMUsage)
    documents: int = 0
    lines_to_llm: int = 0
    lines_total: int = 0
    closers: list[Any] = field(default_factory=list)

    def classify(self, invoice: Invoice, ctx: ClassificationContext) -> Classification:
        """The classification of one document; never raises for an LLM fault."""
        doc_type = classify_document_type(invoice, ctx.text)
        # Statements and reminders are not booked: no GL coding, no LLM spend.
        payable = doc_type.value not in NOT_PAYABLE
        usage = LLMUsage()
        lines = self._code_lines(_line_queries(invoice, ctx), usage) if payable else []
        result = Classification(
            document_type=doc_type, vendor_id=ctx.vendor_id, lines=lines, llm=usage
        )
        result.gl_account = _invoice_level(lines, "gl_account")
        result.cost_centre = _invoice_level(lines, "cost_centre")
        total = invoice.value("total")
        gls = [ln.gl_account.code for ln in lines if ln.gl_account.code]
        result.approval_route = route_invoice(
            self.rules,
            total if isinstance(total, Decimal) else None,
            gls,
            ctx.vendor_id,
            doc_type.value.value,
            has_po=bool(invoice.value("po_number")),
        )
        reasons = [r for ln in lines for r in ln.reasons]
        if doc_type.value in NOT_PAYABLE:
            result.approval_route = None
            reasons.append(ReasonCode.NOT_AN_INVOICE)
        result.reasons = list(dict.fromkeys(reasons))
        result.model_versions = self._versions(doc_type.model_version)
        self.documents += 1
        return result

    def _code_lines(self, queries: list[LineQuery], usage: LLMUsage) -> list[LineCoding]:
        codings = [
            LineCoding(line_no=q.line_no, description=q.description, amount=q.amount)
            for q in queries
        ]
        pending: list[LineQuery] = []
        hints: dict[int, Hint] = {}
        history = self._history(queries)
        for q, coding, hist in zip(queries, codings, history, strict=True):
            if hist is not None:
                coding.gl_account, coding.cost_centre = hist
            if hist is None or hist[0].confidence < self.history_threshold:
                pending.append(q)
                if hist is not None and self.history is not None:
                    hints[q.line_no] = Hint(hist[0].top, self.history.examples(hist[0].precedents))
        self.lines_total += len(queries)
        if pending:
            self._escalate(pending, hints, {c.line_no: c for c in codings}, usage)
        return codings

    def _history(self, queries: list[LineQuery]) -> list[tuple[Suggestion, Suggestion] | None]:
        if self.history is None or self.embedder is None or not queries:
            return [None] * len(queries)
        return list(self.history.suggest(queries, self.embedder))

    def _escalate(
        self,
        pending: list[LineQuery],
        hints: dict[int, Hint],
        codings: dict[int, LineCoding],
        usage: LLMUsage,
    ) -> None:
        if self.llm is None:
            for q in pending:
                codings[q.line_no].reasons.append(ReasonCode.GL_UNCERTAIN)
            return
        self.lines_to_llm += len(pending)
        outcome = self.llm.suggest(pending, hints)
        _add_usage(self.usage, outcome.usage)
        _add_usage(usage, outcome.usage)
        for q in pending:
            coding = codings[q.line_no]
            answer = outcome.suggestions.get(q.line_no)
            if answer is None:
                reason = outcome.reason or ReasonCode.GL_UNCERTAIN
                if (
                    reason in (ReasonCode.LLM_UNAVAILABLE, ReasonCode.LLM_BUDGET_EXHAUSTED)
                    and not coding.gl_account.code
                ):
                    coding.reasons.append(ReasonCode.GL_UNCERTAIN)
                coding.reasons.append(reason)
                continue
            self._adopt(coding, *answer)

    def _adopt(self, coding: LineCoding, gl: Suggestion, cc: Suggestion | None) -> None:
        """Take the LLM's coding if confident and not against clear history evidence.

        A model's own "high" is cheap to say: when it picks an account outside the history's
        top 3 although the history had a real opinion, the line goes to a clerk instead.
        """
        history = coding.gl_account
        known = {c.code for c in history.top}
        conflict = (
            bool(history.code)
            and history.confidence >= self.conflict_floor
            and (gl.code not in known)
        )
        if conflict:
            history.top = (history.top + [gl.top[0]])[:4]
            history.rationale = f"LLM ({gl.model_version}) said {gl.code}: conflict"
            coding.reasons.append(ReasonCode.GL_UNCERTAIN)
            return
        coding.gl_account = _merge(gl, history)
        if cc is not None and (
            not coding.cost_centre.code or coding.cost_centre.confidence < cc.confidence
        ):
            coding.cost_centre = _merge(cc, coding.cost_centre)
        if coding.gl_account.confidence < self.llm_threshold:
            coding.reasons.append(ReasonCode.GL_UNCERTAIN)

    def _versions(self, doctype_version: str) -> dict[str, str]:
        versions = {"document_type": doctype_version}
        if self.history is not None:
            versions["history"] = self.history.version
        if self.embedder is not None:
            versions["embedder"] = embedder_name(self.embedder)
        if self.llm is not None:
            versions["llm"] = self.llm.model_version
        return versions

    def run_metrics(self) -> dict[str, Any]:
        """Per-run figures: documents, share of lines sent to the LLM, usage and budget."""
        share = self.lines_to_llm / self.lines_total if self.lines_total else 0.0
        metrics: dict[str, Any] = {
            "documents": self.documents,
            "lines": self.lines_total,
            "lines_to_llm": self.lines_to_llm,
            "llm_share": round(share, 4),
            "llm_usage": self.usage.model_dump(),
        }
        if self.llm is not None:
            metrics["llm_budget"] = self.llm.budget.summary()
            metrics["llm_breaker"] = {
                "state": self.llm.breaker.state,
                "trips": self.llm.breaker.trips,
            }
        return metrics

    def close(self) -> None:
        """Release what the run opened (HTTP pool, database connection)."""
        for closer in self.closers:
            try:
                closer()
            except Exception:  # noqa: BLE001 - closing is best effort
                log.exception("closing a classification resource failed")


def _line_queries(invoice: Invoice, ctx: ClassificationContext) -> list[LineQuery]:
    date_fv = invoice.invoice_date
    vendor_name = ctx.vendor_name or invoice.value("vendor_name")
    base = LineQuery(
        line_no=0,
        description=str(vendor_name or ""),
        amount=invoice.value("total"),
        vendor_id=ctx.vendor_id,
        vendor_name=vendor_name,
        invoice_date=date_fv.value if date_fv else None,
    )
    queries = []
    for no, line in enumerate(invoice.lines, start=1):
        desc = line.description.value if line.description else ""
        amount = line.line_total.value if line.line_total else None
        update = {"line_no": no, "description": desc or "", "amount": amount}
        queries.append(base.model_copy(update=update))
    # A header-only invoice is coded as one line named after its vendor.
    return queries or [base]


def _merge(llm: Suggestion, history: Suggestion) -> Suggestion:
    """The LLM's suggestion, with the history's alternatives after it; agreement adds weight."""
    merged = llm.model_copy(deep=True)
    if history.code == llm.code:
        merged.confidence = max(llm.confidence, history.confidence)
        merged.precedents = list(history.precedents)
    seen = {c.code for c in merged.top}
    merged.top.extend(c for c in history.top if c.code not in seen)
    merged.top = merged.top[:3]
    return merged


def _invoice_level(lines: list[LineCoding], attr: str) -> Suggestion:
    """The amount-weighted majority of the lines' codes, as the invoice's own code."""
    weights: dict[str, float] = defaultdict(float)
    confidences: dict[str, list[float]] = defaultdict(list)
    source: dict[str, Suggestion] = {}
    for line in lines:
        s: Suggestion = getattr(line, attr)
        if not s.code:
            continue
        weight = float(abs(line.amount)) if line.amount else 1.0
        weights[s.code] += max(weight, 0.01)
        confidences[s.code].append(s.confidence)
        source.setdefault(s.code, s)
    if not weights:
        return Suggestion()
    best = max(weights, key=lambda c: weights[c])
    share = weights[best] / sum(weights.values())
    conf = share * sum(confidences[best]) / len(confidences[best])
    first = source[best]
    return Suggestion(
        code=best,
        confidence=round(min(conf, 1.0), 4),
        backend=first.backend,
        model_version=first.model_version,
        rationale=f"{share:.0%} of the amount",
    )


def _add_usage(total: LLMUsage, part: LLMUsage) -> None:
    for name in ("calls", "cache_hits", "prompt_tokens", "completion_tokens", "lines_sent"):
        setattr(total, name, getattr(total, name) + getattr(part, name))
    total.seconds += part.seconds
    total.call_seconds += part.call_seconds
