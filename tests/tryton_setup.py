"""Set up a Tryton database for the ERP tests (run as a script by tests/tryton_server.py).

    python tests/tryton_setup.py CONFIG DATABASE GL_CODES TAX_RATES

On a database trytond-admin made with account_invoice: the company (EUR), the minimal chart,
fiscal years 2024-2026 with monthly periods and invoice sequences, document tax rounding,
currency-exchange accounts (bills in USD, GBP and CHF need them to post), the currencies the
generator prints (with rates), one expense account per GL code ("E" + code) and one supplier
tax per rate ("Input VAT <rate>%"). The flow of account_invoice's
scenario_invoice_supplier.rst, with the helpers the wheels ship.
"""

from __future__ import annotations

import datetime as dt
import sys
from decimal import Decimal

from proteus import Model
from proteus import config as proteus_config
from trytond.modules.account.tests.tools import create_chart, create_fiscalyear, get_accounts
from trytond.modules.account_invoice.tests.tools import set_fiscalyear_invoice_sequences
from trytond.modules.company.tests.tools import create_company, get_company
from trytond.modules.currency.tests.tools import get_currency

RATES = {"USD": Decimal("1.08"), "GBP": Decimal("0.85"), "CHF": Decimal("0.95")}


def main(config_file: str, database: str, gl_codes: str, tax_rates: str) -> None:
    proteus_config.set_trytond(database=database, config_file=config_file)
    eur = get_currency("EUR")
    for code, rate in RATES.items():
        currency = get_currency(code)
        Rate = Model.get("currency.currency.rate")
        if not Rate.find([("currency", "=", currency.id)]):
            Rate(date=dt.date(2000, 1, 1), rate=rate, currency=currency).save()
    create_company(currency=eur)
    company = get_company()
    create_chart(company)
    for year in (2024, 2025, 2026):
        fiscalyear = set_fiscalyear_invoice_sequences(
            create_fiscalyear(company, (dt.date(year, 1, 1), dt.date(year, 12, 31)))
        )
        fiscalyear.click("create_period")
    AccountConfig = Model.get("account.configuration")
    account_config = AccountConfig(1)
    account_config.tax_rounding = "document"
    accounts = get_accounts(company)
    # bills in USD, GBP and CHF post a currency-exchange line for their rounding difference
    account_config.currency_exchange_credit_account = accounts["revenue"]
    account_config.currency_exchange_debit_account = accounts["expense"]
    account_config.save()
    Account = Model.get("account.account")
    for code in gl_codes.split(","):
        Account(
            name=f"Expense {code}",
            code=f"E{code}",
            type=accounts["expense"].type,
            parent=accounts["expense"].parent,
            company=company,
        ).save()
    Tax = Model.get("account.tax")
    for rate in tax_rates.split(","):
        Tax(
            name=f"Input VAT {rate}%",
            description=f"Input VAT {rate}%",
            type="percentage",
            rate=Decimal(rate) / 100,
            invoice_account=accounts["tax"],
            credit_note_account=accounts["tax"],
            company=company,
        ).save()


if __name__ == "__main__":
    main(*sys.argv[1:5])
