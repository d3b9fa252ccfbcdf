"""Where an item table ends: a row opening with a label of the totals (the header fields'
own labels, `extractors.fields.labels`, one list for both), in en/de/fr."""

from __future__ import annotations

import pytest

from extractors.lines.boundary import ends_table


@pytest.mark.parametrize(
    "row",
    [
        "Subtotal 100.00",
        "Zwischensumme 100,00",
        "Sous-total 100,00",
        "Total 119.00",
        "Totals 119.00",
        "Gesamtbetrag 119,00",
        "Montant TTC 119,00",
        "VAT 19% 19.00",
        "zzgl. 19% MwSt 19,00",
        "Base imposable 100,00",
        # the amount due's labels end the table as the total's do
        "Restbetrag 10,00",
        "Offener Betrag 10,00",
        "Solde dû 10,00",
        "Montant à payer 10,00",
        "Amount to pay 119.00",
        "Please pay 119.00",
    ],
)
def test_a_row_opening_with_a_label_of_the_totals_ends_the_table(row: str) -> None:
    assert ends_table(row, ",") or ends_table(row, ".")


@pytest.mark.parametrize(
    "row",
    [
        # an item whose description begins with a summary word: the word goes on
        "Taxi transfer airport 35.00",
        "Amounting bracket 4 2,50 10,00",
        "Balancer arm 2 30,00 60,00",
    ],
)
def test_an_item_whose_first_word_begins_like_a_label_is_no_summary(row: str) -> None:
    assert not ends_table(row, ",") and not ends_table(row, ".")
