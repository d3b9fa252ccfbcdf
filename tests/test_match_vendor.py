"""Vendor resolution on a small inline master: exact keys, similarity, unknown vendors,
changed bank details, and the explanation that comes with each decision."""

from __future__ import annotations

from decimal import Decimal

import pytest

from invoices.records import FieldValue, Invoice, Method, Provenance, ReasonCode
from invoices.settings import load_settings
from matchers.embeddings import HashingEmbedder, load_embedder
from matchers.normalize import legal_form, normalize_invoice_number, normalize_name
from matchers.vendor import VendorMaster, VendorResolver, bank_details_changed
from matchers.vendor_model import VendorModel, fit_vendor_model

PROV = Provenance(method=Method.TEXT_LAYER, extractor="test")

VENDOR_ROWS = [
    {
        "vendor_id": "V001",
        "name": "Müller Bürobedarf GmbH",
        "aliases": ["Mueller Buero"],
        "address": "Hauptstraße 12, 10115 Berlin",
        "country": "DE",
        "vat_id": "DE123456789",
        "iban": "DE89370400440532013000",
        "bic": "COBADEFFXXX",
        "email": "rechnung@mueller-buero.de",
        "currency": "EUR",
    },
    {
        "vendor_id": "V002",
        "name": "Nordic Paper Supplies Ltd",
        "aliases": [],
        "address": "12 Harbour Road, Leeds LS1 4AB",
        "country": "GB",
        "vat_id": "GB123456789",
        "iban": "GB33BUKB20201555555555",
        "bic": None,
        "email": "ap@nordicpaper.co.uk",
        "currency": "GBP",
    },
    {
        "vendor_id": "V003",
        "name": "Müller Baustoffe KG",
        "aliases": [],
        "address": "Industrieweg 4, 80331 München",
        "country": "DE",
        "vat_id": "DE987654321",
        "iban": "DE75512108001245126199",
        "bic": None,
        "email": "info@mueller-baustoffe.de",
        "currency": "EUR",
    },
    {
        "vendor_id": "V004",
        "name": "Atelier Lumière SARL",
        "aliases": ["Lumiere Atelier"],
        "address": "5 Rue de la Paix, 75002 Paris",
        "country": "FR",
        "vat_id": "FR40303265045",
        "iban": "FR1420041010050500013M02606",
        "bic": None,
        "email": "compta@atelier-lumiere.fr",
        "currency": "EUR",
    },
]


def invoice(**fields: object) -> Invoice:
    """An invoice whose given header fields were read from the text layer."""
    return Invoice(
        **{k: FieldValue(value=v, confidence=0.95, provenance=PROV) for k, v in fields.items()}
    )


@pytest.fixture(scope="module")
def resolver() -> VendorResolver:
    settings = load_settings(embedding_backend="hashing")
    return VendorResolver(VendorMaster.from_rows(VENDOR_ROWS), load_embedder(settings), settings)


def test_vat_id_links_and_says_so(resolver: VendorResolver) -> None:
    match = resolver.resolve(
        invoice(vendor_name="Mueller Buerobedarf", vendor_vat_id="DE 123 456 789")
    )
    assert match.vendor_id == "V001"
    assert match.method == "vat_id"
    assert match.probability >= 0.99
    assert match.scores["vat_id"] == 1.0
    assert match.reasons == []


def test_name_and_address_link_without_keys(resolver: VendorResolver) -> None:
    match = resolver.resolve(
        invoice(vendor_name="NORDIC PAPER SUPPLIES LIMITED", vendor_address="12 Harbour Rd, Leeds")
    )
    assert match.vendor_id == "V002"
    assert match.method == "similarity"
    assert {"name_fuzzy", "name_embedding", "address"} <= set(match.scores)
    assert match.candidates[0]["vendor_id"] == "V002"


def test_alias_links(resolver: VendorResolver) -> None:
    match = resolver.resolve(
        invoice(vendor_name="Lumiere Atelier", vendor_address="5 rue de la Paix Paris")
    )
    assert match.vendor_id == "V004"


def test_unknown_vendor_is_not_linked_to_the_nearest(resolver: VendorResolver) -> None:
    match = resolver.resolve(
        invoice(
            vendor_name="Müller Elektrotechnik AG",
            vendor_address="Bahnhofstr. 99, 01067 Dresden",
            vendor_vat_id="DE111222333",
        )
    )
    assert match.vendor_id is None
    assert match.reasons == [ReasonCode.VENDOR_UNKNOWN]
    assert match.candidates, "the clerk still sees the nearest candidates"
    assert match.probability < 0.5


def test_same_name_with_another_legal_form_is_another_company(
    resolver: VendorResolver,
) -> None:
    """A look-alike: the name of a known vendor under another legal form, nothing else read."""
    lookalike = resolver.resolve(invoice(vendor_name="Atelier Lumière SAS", currency="EUR"))
    assert lookalike.vendor_id is None
    assert lookalike.reasons == [ReasonCode.VENDOR_UNKNOWN]
    assert lookalike.candidates[0]["scores"]["legal_form"] == 0.0
    same = resolver.resolve(invoice(vendor_name="Atelier Lumière S.A.R.L.", currency="EUR"))
    assert same.vendor_id == "V004"
    assert same.scores["legal_form"] == 1.0
    bare = resolver.resolve(invoice(vendor_name="Atelier Lumière", currency="EUR"))
    assert "legal_form" not in bare.scores, "no form printed: no evidence either way"


def test_a_cited_purchase_order_names_its_vendor() -> None:
    """A scan whose letterhead was misread still cites an existing PO: that PO's vendor is a
    candidate, and the PO counts as evidence for it (and against the others)."""
    settings = load_settings(embedding_backend="hashing")
    resolver = VendorResolver(
        VendorMaster.from_rows(VENDOR_ROWS),
        load_embedder(settings),
        settings,
        po_vendors={"4500017": "V003"},
    )
    garbled = invoice(vendor_name="Mü1ler Bau", po_number="PO-4500017", currency="EUR")
    match = resolver.resolve(garbled)
    assert (match.vendor_id, match.method) == ("V003", "po_vendor")
    assert match.scores["po_vendor"] == 1.0
    assert "po_number" in match.candidates[0]["via"]
    misread = garbled.model_copy(
        update={"po_number": FieldValue(value="P0-4500017", confidence=0.8, provenance=PROV)}
    )
    assert resolver.resolve(misread).vendor_id == "V003", "P0 for PO is the OCR's"
    unknown_po = resolver.resolve(garbled.model_copy(update={"po_number": None}))
    assert unknown_po.vendor_id is None, "without the PO the garbled name is not enough"
    unlabelled = garbled.model_copy(
        update={"po_number": None, "references": ["12.03.2026", "4500017", "K-10452"]}
    )
    assert resolver.resolve(unlabelled).vendor_id == "V003", "the PO printed without its label"


def test_email_domain_misread_by_one_character_still_counts(resolver: VendorResolver) -> None:
    match = resolver.resolve(
        invoice(vendor_name="Nordic Paper Supplies", vendor_email="ap@nordicpaber.co.uk")
    )
    assert match.vendor_id == "V002"
    assert match.scores["email_domain"] == 0.5
    assert match.scores["weight.email_domain"] > 0
    dot_lost = resolver.resolve(invoice(vendor_name="Nordic", vendor_email="ap@nordicpaperco.uk"))
    assert dot_lost.scores["email_domain"] == 1.0


@pytest.mark.parametrize(
    ("name", "form"),
    [
        ("Meyer GmbH", "gmbh"),
        ("MEYER GMBH", "gmbh"),
        ("Meyer Gesellschaft mit beschränkter Haftung", "gmbh"),
        ("Müller GmbH & Co. KG", "gmbh & co kg"),
        ("Dupont S.A.R.L.", "sarl"),
        ("Schmidt e.K.", "ek"),
        ("Turner & Wood Limited", "ltd"),
        ("Acme Corporation", "corp"),
        ("Acme Inc.", "inc"),
        ("Müller & Söhne", ""),
        ("GmbH", ""),
        (None, ""),
    ],
)
def test_legal_form(name: str | None, form: str) -> None:
    assert legal_form(name) == form


def test_changed_iban_on_a_linked_vendor(resolver: VendorResolver) -> None:
    match = resolver.resolve(
        invoice(
            vendor_name="Müller Baustoffe KG",
            vendor_vat_id="DE987654321",
            iban="DE44500105175407324931",
        )
    )
    assert match.vendor_id == "V003"
    assert ReasonCode.BANK_DETAILS_CHANGED in match.reasons


def test_iban_links_when_name_is_garbled(resolver: VendorResolver) -> None:
    match = resolver.resolve(
        invoice(vendor_name="Nordlc Paper Suppl1es", iban="GB33 BUKB 2020 1555 5555 55")
    )
    assert match.vendor_id == "V002"
    assert match.method == "iban"
    assert match.reasons == []


def test_batch_equals_single(resolver: VendorResolver) -> None:
    invoices = [
        invoice(vendor_name="Atelier Lumiere"),
        invoice(vendor_name="Unbekannt GmbH"),
        invoice(vendor_name="x", vendor_vat_id="GB123456789"),
    ]
    batch = resolver.resolve_many(invoices)
    assert [m.vendor_id for m in batch] == [resolver.resolve(i).vendor_id for i in invoices]


@pytest.mark.parametrize(
    ("iban", "changed"),
    [
        ("DE75512108001245126199", False),  # the master's
        ("DE75512108001245126198", False),  # invalid checksum, one slip: an extraction error
        ("DE44500105175407324931", True),  # a valid other account
        ("", False),
    ],
)
def test_bank_details_changed(iban: str, changed: bool) -> None:
    record = VendorMaster.from_rows(VENDOR_ROWS).records[2]
    assert bank_details_changed(iban, record) is changed


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("Müller Bürobedarf GmbH", "muller burobedarf"),
        ("ACME & Sons Ltd.", "acme sons"),
        ("Atelier Lumière S.A.R.L.", "atelier lumiere"),
        ("J.P. Schmidt e.K.", "jp schmidt"),
        ("GmbH", "gmbh"),
    ],
)
def test_normalize_name(raw: str, normalized: str) -> None:
    assert normalize_name(raw) == normalized


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("INV-000123", "123"),
        ("Rechnung Nr. 2024/17", "202417"),
        ("RE-2024-001", "2024001"),
        ("A-17", "A17"),
    ],
)
def test_normalize_invoice_number(raw: str, normalized: str) -> None:
    assert normalize_invoice_number(raw) == normalized


def test_fitted_model_is_calibrated_on_its_pairs() -> None:
    pairs = (
        [({"name": 0.97, "vat_id": 1.0}, True)] * 40
        + [({"name": 0.8, "vat_id": None}, True)] * 10
        + [({"name": 0.8, "vat_id": None}, False)] * 30
        + [({"name": 0.5, "vat_id": 0.0}, False)] * 120
    )
    model = fit_vendor_model(pairs)
    assert model.explain({"name": 0.97, "vat_id": 1.0}).probability > 0.95
    assert model.explain({"name": 0.5, "vat_id": 0.0}).probability < 0.05
    middle = model.explain({"name": 0.8}).probability
    assert 0.1 < middle < 0.45  # 10 of 40 such pairs are matches
    assert VendorModel.from_json(model.to_json()) == model


def test_hashing_embedder_is_normalized() -> None:
    vectors = HashingEmbedder().encode(["Müller", "", "Nordic Paper"])
    norms = (vectors**2).sum(axis=1)
    assert norms[0] == pytest.approx(1.0) and norms[2] == pytest.approx(1.0)
    assert Decimal("1") == Decimal("1.0")


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [("CHE-163.758.474 MWST", "CHE163758474"), ("DE 123 456 789", "DE123456789"), (None, "")],
)
def test_normalize_vat_id(raw, normalized) -> None:
    from matchers.normalize import normalize_vat_id

    assert normalize_vat_id(raw) == normalized


def test_trigram_candidates_find_a_garbled_name_among_many() -> None:
    rows = [
        {"vendor_id": f"X{i}", "name": f"Muster {w} {i} GmbH"}
        for i, w in enumerate(["Bau", "Druck", "Logistik", "Papier"] * 100)
    ]
    rows.append({"vendor_id": "T", "name": "Quadravia Werbung GmbH"})
    master = VendorMaster.from_rows(rows)
    found = [
        master.records[i].vendor_id for i, _ in master.trigram_candidates("quadrav1a werbvng", 5)
    ]
    assert found[0] == "T"


def test_misread_vat_id_and_address_still_find_the_vendor(resolver: VendorResolver) -> None:
    for misread in ("FR4O303265045", "FR403032650455"):  # O for 0; a digit read twice
        found = resolver.master.exact_candidates(misread, "", "")
        assert [resolver.master.records[i].vendor_id for i in found] == ["V004"]
    by_vat = resolver.resolve(invoice(vendor_name="Rechnung an", vendor_vat_id="FR4O303265045"))
    assert by_vat.candidates[0]["vendor_id"] == "V004"
    assert by_vat.candidates[0]["scores"]["vat_id"] == 0.5
    near = resolver.master.address_candidates("5 rue de la paix 75002 paris", 2)
    assert resolver.master.records[near[0][0]].vendor_id == "V004"
