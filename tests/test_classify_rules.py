"""Pure pieces of the classification stage: document type, approval route, masking, guards,
the answer schema and its validation."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from classifiers.approval import DEFAULT_APPROVAL_RULES, parse_rules, route_invoice
from classifiers.doctype import classify_document_type, document_type_from_code
from classifiers.guard import Backoff, Budget, CircuitBreaker
from classifiers.llm import parse_answer, response_schema
from classifiers.privacy import mask_personal_data
from classifiers.records import LineQuery
from invoices.records import DocumentType, FieldValue, Invoice, Method, Provenance

# twelve lines of letterhead and addresses: what follows is the body, not the title block
_TITLE_BLOCK = "".join(f"Letterhead line {n}\n" for n in range(12))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ACME GmbH\nRECHNUNG\nRechnungsnummer 4711\nPos Artikel Betrag", DocumentType.INVOICE),
        ("Acme Ltd\nTax Invoice\nInvoice No. 12\nTotal 100.00", DocumentType.INVOICE),
        ("Société X\nFACTURE\nN° de facture 77\nTotal TTC", DocumentType.INVOICE),
        (
            "Acme Ltd\nCREDIT NOTE\nCredit Note No. 5\nThis credit note refers to invoice 12.",
            DocumentType.CREDIT_NOTE,
        ),
        ("ACME GmbH\nGUTSCHRIFT\nGutschrift Nr. 3\nzur Rechnung 4711", DocumentType.CREDIT_NOTE),
        ("Société X\nAVOIR\nAvoir n° 9\nfacture 77", DocumentType.CREDIT_NOTE),
        (
            "Acme Ltd\nSTATEMENT OF ACCOUNT\nOpen items\nInvoice 1 100.00\nInvoice 2 200.00\n"
            "Invoice 3 300.00",
            DocumentType.STATEMENT,
        ),
        ("ACME GmbH\nKONTOAUSZUG\nOffene Posten\nRechnung 1\nRechnung 2", DocumentType.STATEMENT),
        (
            "Acme Ltd\nPAYMENT REMINDER\nThe following invoice is overdue.\nInvoice 12",
            DocumentType.REMINDER,
        ),
        ("ACME GmbH\nZAHLUNGSERINNERUNG\nRechnung 4711 ist überfällig", DocumentType.REMINDER),
        ("Société X\nRELANCE DE PAIEMENT\nfacture 77 impayée", DocumentType.REMINDER),
        # a long vendor name and the title run together (and the OCR misreads the a)
        (
            "Boreaflex Technik Service GmbH & CoZählungserinnerung\nRechnung an\nHelios GmbH\n"
            "Rechnung Nr. RE-2025-33762 Betrag 3.231,99 €\nMahngebühr 15,00 €",
            DocumentType.REMINDER,
        ),
        ("ACME GmbH\nKorrekturrechnung\nersetzt Rechnung 4711", DocumentType.CORRECTION),
        (
            "Corner Shop\nRECEIPT\nCash 20.00\nChange due 3.50\nThank you for shopping",
            DocumentType.RECEIPT,
        ),
        ("Gutschrift (Selbst ausgestellte Rechnung) Nr. 1 vom 05.03.2018", DocumentType.INVOICE),
        # the inbound mail stamp of a French invoice is no receipt
        ("Atelier X SAS\nRECU LE 17/02/2025\nFacture N° 7\nClient : Y", DocumentType.INVOICE),
        # ... also as a scan misreads it
        ("Atelier X SAS\nRECU LF 17/02/2025\nFacture N° 7\nClient : Y", DocumentType.INVOICE),
        ("Atelier X SAS\nREÇU | 12.01.25\nFacture N° 7\nClient : Y", DocumentType.INVOICE),
        ("Boulangerie Z\nREÇU\nMerci de votre visite\nTotal 4,20", DocumentType.RECEIPT),
        ("Boulangerie Z\nReçu n° 12\nMerci de votre visite\nTotal 4,20", DocumentType.RECEIPT),
        ("Lorem ipsum dolor sit amet", DocumentType.OTHER),
        # the title lost to OCR: a reminder's words about the earlier invoice still name it
        (
            _TITLE_BLOCK + "Sicher haben Sie übersehen, dass folgende Rechnung noch offen ist.\n"
            "Rechnungsnummer Rechnungsdatum Fällig am\n89730 2025-05-28 2025-06-27",
            DocumentType.REMINDER,
        ),
        (
            _TITLE_BLOCK + "Our records show that the invoice below is still outstanding.\n"
            "Invoice 4711 dated 2025-05-28 1,200.00",
            DocumentType.REMINDER,
        ),
        (
            _TITLE_BLOCK + "La facture ci-dessous n'a pas encore été réglée.\nFacture 77 1 200,00",
            DocumentType.REMINDER,
        ),
        # a garbled title that still reads "facture": the number label names a credit note
        (
            "Sigmaserv SC\nFacture d'aviinnene 18/09/2025\n"
            + _TITLE_BLOCK
            + "Avoir n°: AV-2025-0800\nSous-total 59,48\nCet avoir se rapporte à la facture 2025",
            DocumentType.CREDIT_NOTE,
        ),
    ],
)
def test_document_type_from_words(text: str, expected: DocumentType) -> None:
    assert classify_document_type(None, text).value == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a reminder whose title a scan lost, under the heading of the party billed
        (
            "Parker & White Limited\n105 Market Street\nBirmingham B1 1BB\nUnited Kingdom\n"
            "VAT Reg. No.: GB116067631\ninvoices@parkerwhite.co.uk\nInvoice to\n"
            "Helios Industrial Ltd\n5 Canal Street\nManchester M1 1AE\nDate   Currency\n"
            "18/02/2025   GBP\n"
            "Our records show that the following invoice is overdue. Please settle it promptly.\n"
            "Invoice Number   Payment due   Total\nINV-66072   631.82 GBP\nReminder fee 15.00",
            DocumentType.REMINDER,
        ),
        (
            "Astratec Logistik GmbH\nRechnung an   Datum: 2025-09-21\nHelios GmbH\n"
            "Sicher haben Sie übersehen, dass folgende Rechnung noch offen ist.\n"
            "Rechnung Nr.   Datum   Betrag\nINV-86489   2025-08-11   494,45 EUR",
            DocumentType.REMINDER,
        ),
        (
            _TITLE_BLOCK + "Les factures ci-dessous restent impayées à ce jour.\n"
            "Numéro de facture   Montant\nF-77   1 225,81 EUR\nFacture F-78 du 03/01/2025",
            DocumentType.REMINDER,
        ),
        # a statement whose title a scan lost: it lists the open items of the account
        (
            "Braun & Schulz e.K.\nRechnung an\nHelios GmbH\n"
            "Offene Posten auf Ihrem Konto zum 22.01.2025:\nRechnung Nr.   Datum   Betrag\n"
            "202415975   05.11.2024   3.396,54 EUR\n202415973   28.12.2024   3.118,22 EUR\n"
            "Offener Saldo   6.514,76 EUR",
            DocumentType.STATEMENT,
        ),
        (
            _TITLE_BLOCK + "Open items on your account as of 2025-02-08:\n"
            "Invoice No.   Date   Amount\nINV-1   2025-01-14   100.00\nINV-2   2025-01-20   50.00",
            DocumentType.STATEMENT,
        ),
        # an invoice billed to a party says nothing of being another type
        (
            "Acme Ltd\nINVOICE\nBill to\nHelios Ltd\nInvoice No. 12\nTotal 100.00",
            DocumentType.INVOICE,
        ),
    ],
)
def test_a_type_lost_with_its_title_is_read_from_what_the_document_says(
    text: str, expected: DocumentType
) -> None:
    assert classify_document_type(None, text).value == expected


def test_declared_einvoice_type_wins_and_negative_total_means_credit() -> None:
    xml = Provenance(method=Method.EINVOICE_XML)
    declared = FieldValue(value=DocumentType.CREDIT_NOTE, confidence=1.0, provenance=xml)
    result = classify_document_type(Invoice(document_type=declared), "RECHNUNG")
    assert result.value == DocumentType.CREDIT_NOTE and result.backend == "einvoice"
    neg = FieldValue(
        value=Decimal("-50.00"), confidence=1.0, provenance=Provenance(method=Method.RULE)
    )
    assert (
        classify_document_type(Invoice(total=neg), "Document 12").value == DocumentType.CREDIT_NOTE
    )


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("380", "invoice"),
        ("389", "invoice"),
        ("575", "invoice"),
        ("381", "credit_note"),
        ("384", "correction"),
        ("999", "other"),
    ],
)
def test_untdid_codes(code: str, expected: str) -> None:
    assert document_type_from_code(code).value == expected


@pytest.mark.parametrize(
    ("total", "has_po", "group"),
    [
        ("400", False, "auto"),
        ("4000", True, "auto"),
        ("4000", False, "cost_centre_manager"),
        ("6000", True, "cost_centre_manager"),
        ("25000", True, "director"),
        ("-500", False, "auto"),
    ],
)
def test_default_approval_routes(total: str, has_po: bool, group: str) -> None:
    route = route_invoice(
        parse_rules(DEFAULT_APPROVAL_RULES),
        Decimal(total),
        ["6300"],
        "V1",
        "invoice",
        has_po=has_po,
    )
    assert route is not None and route.approver_group == group and route.reason


def test_approval_rules_on_gl_and_vendor() -> None:
    rules = parse_rules(
        [
            {"name": "capex", "approver_group": "fixed_assets", "gl_prefixes": ["0"]},
            {"name": "legal", "approver_group": "general_counsel", "vendor_ids": ["V9"]},
            {"name": "rest", "approver_group": "ap_clerk"},
        ]
    )
    capex = route_invoice(rules, Decimal("10"), ["6300", "0670"], "V1")
    assert capex is not None and capex.approver_group == "fixed_assets" and "0670" in capex.reason
    legal = route_invoice(rules, Decimal("10"), ["6810"], "V9")
    assert legal is not None and legal.approver_group == "general_counsel"
    assert route_invoice(rules[:1], Decimal("10"), ["6300"], "V1") is None


def test_masking_removes_personal_and_bank_data() -> None:
    text = (
        "Pay to IBAN DE89 3704 0044 0532 0130 00 or account no. 123456789.\n"
        "Questions: anna.schmidt@example.com, phone +49 30 1234567.\n"
        "Attn: John Smith. Ihr Ansprechpartner: Herr Klaus Meyer. Thomas Müller signed.\n"
        "Line 1: Copy paper A4, 500 sheets 12.50"
    )
    masked = mask_personal_data(text)
    for secret in (
        "DE89",
        "0532",
        "123456789",
        "anna.schmidt",
        "1234567",
        "Smith",
        "Meyer",
        "Müller",
    ):
        assert secret not in masked, secret
    assert "[IBAN]" in masked and "[EMAIL]" in masked and "[PHONE]" in masked
    assert "Copy paper A4, 500 sheets 12.50" in masked


def test_budget_counts_calls_tokens_and_cost() -> None:
    budget = Budget(
        max_calls=2, max_tokens=1000, max_cost=Decimal("0.05"), cost_per_1k_tokens=Decimal("0.10")
    )
    assert budget.allows(400)
    budget.spend(400)
    assert budget.cost == Decimal("0.0400")
    assert not budget.allows(200)  # cost would be 0.06
    assert Budget(max_calls=0).allows(1) is False
    assert not Budget(max_tokens=100).allows(101)


def test_breaker_opens_after_failures_and_half_opens_after_cooldown() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=2, cooldown_seconds=10, clock=lambda: now[0])
    breaker.record_failure()
    assert breaker.allows()
    breaker.record_failure()
    assert breaker.state == "open" and not breaker.allows()
    now[0] = 11.0
    assert breaker.state == "half_open" and breaker.allows()
    breaker.record_failure()  # the trial call failed: open again
    assert breaker.state == "open"
    now[0] = 30.0
    breaker.record_success()
    assert breaker.state == "closed" and breaker.trips == 2


def test_backoff_is_jittered_and_capped() -> None:
    slept: list[float] = []
    backoff = Backoff(base_seconds=1.0, cap_seconds=4.0, rng=random.Random(3), sleep=slept.append)
    delays = [backoff.wait(a) for a in range(6)]
    assert delays == slept
    assert all(0.0 <= d <= min(4.0, 2**a) for a, d in enumerate(delays))
    assert len(set(delays)) == len(delays)


def test_answer_schema_restricts_gl_codes_and_validation_rejects_others() -> None:
    schema = response_schema(["6300", "6400"], ["CC1"], 2)
    items = schema["properties"]["lines"]
    assert items["minItems"] == items["maxItems"] == 2
    assert items["items"]["properties"]["gl_account"]["enum"] == ["6300", "6400"]
    queries = [LineQuery(line_no=1, description="a"), LineQuery(line_no=2, description="b")]
    good = (
        '{"lines": [{"line_no": 1, "gl_account": "6300", "cost_centre": "CC1", '
        '"confidence": "high"}, {"line_no": 2, "gl_account": "6400", "confidence": "low"}]}'
    )
    parsed = parse_answer(good, queries, ["6300", "6400"], ["CC1"])
    assert parsed[2].gl_account == "6400"
    bad_code = good.replace('"6400"', '"9999"')
    missing = '{"lines": [{"line_no": 1, "gl_account": "6300", "confidence": "high"}]}'
    for content in (bad_code, missing, "not json", '{"lines": [{"line_no": 1}]}'):
        with pytest.raises(ValueError):
            parse_answer(content, queries, ["6300", "6400"], ["CC1"])


def test_textless_document_with_invoice_fields_is_an_invoice_with_low_confidence() -> None:
    prov = Provenance(method=Method.OCR)
    invoice = Invoice(
        invoice_number=FieldValue(value="A-1", confidence=0.9, provenance=prov),
        total=FieldValue(value=Decimal("12.00"), confidence=0.9, provenance=prov),
    )
    result = classify_document_type(invoice, "")
    assert result.value == DocumentType.INVOICE and result.confidence == 0.5
    assert classify_document_type(Invoice(), "").value == DocumentType.OTHER


def test_evaluation_types_a_scan_from_the_text_the_pipeline_read(tmp_path) -> None:
    """A scanned credit note has no text layer: scored on it alone it looks like an invoice;
    given the text the pipeline read (OCR), it is typed a credit note."""
    import json

    from classifiers.approval import DEFAULT_APPROVAL_RULES, parse_rules
    from classifiers.cascade import Cascade
    from classifiers.evaluation import evaluate_folder

    (tmp_path / "labels").mkdir()
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "scan-1.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    label = {
        "doc_id": "scan-1",
        "documents": ["docs/scan-1.png"],
        "fields": {"total": 59.48, "invoice_number": "AV-2025-0800"},
        "line_items": [{"description": "Retour", "line_total": 59.48}],
        "truth": {"document_type": "credit_note"},
    }
    (tmp_path / "labels" / "scan-1.json").write_text(json.dumps(label))
    cascade = Cascade(
        history=None, embedder=None, llm=None, rules=parse_rules(DEFAULT_APPROVAL_RULES)
    )
    alone = evaluate_folder(cascade, tmp_path, misses=5)
    read = evaluate_folder(cascade, tmp_path, texts={"scan-1": "Sigmaserv SC\nAVOIR\nAvoir n° 8"})
    assert alone["document_type_confusion"] == {"credit_note->invoice": 1}
    assert read["document_type_confusion"] == {"credit_note->credit_note": 1}
    assert read["text"] == "as the pipeline reads it" and alone["text"] == "PDF text layer only"
    # the documents typed wrong are listed when asked for, with the evidence behind the type
    (miss,) = alone["document_type_misses"]
    assert (miss["doc_id"], miss["expected"], miss["got"]) == ("scan-1", "credit_note", "invoice")
    assert miss["evidence"] and "document_type_misses" not in read
