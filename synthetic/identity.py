"""Who a vendor is: legal names and their variants, addresses, VAT ids and IBANs.

VAT ids and IBANs carry valid checksums (checked with python-stdnum), so that the validation
stage accepts them and a planted bank-detail change is a real, valid, different IBAN.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from stdnum import iban as stdnum_iban
from stdnum.at import uid as at_uid
from stdnum.be import vat as be_vat
from stdnum.ch import vat as ch_vat
from stdnum.de import vat as de_vat
from stdnum.fr import siren as fr_siren
from stdnum.gb import vat as gb_vat

# fmt: off
LOCALE_COUNTRY = {
    "de_DE": "DE", "de_AT": "AT", "de_CH": "CH", "fr_FR": "FR", "fr_BE": "BE",
    "en_GB": "GB", "en_US": "US",
}
COUNTRY_CURRENCY = {"DE": "EUR", "AT": "EUR", "CH": "CHF", "FR": "EUR", "BE": "EUR", "GB": "GBP",
                    "US": "USD"}
COUNTRY_NAMES = {
    "DE": {"de": "Deutschland", "en": "Germany", "fr": "Allemagne"},
    "AT": {"de": "Österreich", "en": "Austria", "fr": "Autriche"},
    "CH": {"de": "Schweiz", "en": "Switzerland", "fr": "Suisse"},
    "FR": {"de": "Frankreich", "en": "France", "fr": "France"},
    "BE": {"de": "Belgien", "en": "Belgium", "fr": "Belgique"},
    "GB": {"de": "Vereinigtes Königreich", "en": "United Kingdom", "fr": "Royaume-Uni"},
    "US": {"de": "USA", "en": "United States", "fr": "États-Unis"},
}

_SURNAMES = {
    "de": ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
           "Schulz", "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
           "Zimmermann", "Braun", "Krüger", "Hartmann", "Lange", "Werner", "Krause", "Lehmann",
           "Köhler", "Maier", "Huber", "Kaiser", "Fuchs", "Vogel", "Keller", "Günther", "Berger",
           "Roth", "Beck", "Lorenz", "Baumann", "Brandt", "Haas", "Schäfer"),
    "fr": ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
           "Leroy", "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David",
           "Bertrand", "Roux", "Vincent", "Fournier", "Morel", "Girard", "André", "Lefèvre",
           "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Chevalier", "Gauthier", "Perrin"),
    "en": ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
           "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green",
           "Hall", "Wood", "Jackson", "Clarke", "Harris", "Lewis", "Baker", "Carter", "Morgan",
           "Cooper", "Hughes", "Edwards", "Turner", "Parker", "Collins", "Bennett"),
}
_BRAND_STEMS = ("Nord", "Süd", "Alpen", "Rhein", "Elb", "Nova", "Tecto", "Astra", "Prima", "Vario",
                "Optima", "Terra", "Helix", "Quadra", "Lumen", "Orbis", "Vertex", "Zenit", "Polar",
                "Aqua", "Ferro", "Centro", "Delta", "Sigma", "Atlas", "Borea", "Kobalt", "Linea")
_BRAND_TAILS = ("tec", "plan", "line", "mark", "soft", "log", "pro", "net", "data", "form", "werk",
                "via", "trade", "serv", "point", "flex", "max", "tronic")
LEGAL_FORMS = {
    "DE": ("GmbH", "GmbH", "GmbH", "AG", "GmbH & Co. KG", "KG", "e.K."),
    "AT": ("GmbH", "GmbH", "AG", "OG", "KG"),
    "CH": ("AG", "AG", "GmbH", "SA"),
    "FR": ("SARL", "SAS", "SAS", "SA", "EURL"),
    "BE": ("SA", "SRL", "SRL", "SC"),
    "GB": ("Ltd", "Ltd", "Limited", "PLC", "LLP"),
    "US": ("Inc.", "Inc.", "LLC", "Corp.", "Co."),
}
_LONG_FORMS = {"GmbH": "Gesellschaft mit beschränkter Haftung", "Ltd": "Limited",
               "Inc.": "Incorporated", "Corp.": "Corporation", "SARL": "S.A.R.L.",
               "AG": "Aktiengesellschaft"}

_STREETS = {
    "de": ("Hauptstraße", "Bahnhofstraße", "Industriestraße", "Gartenweg", "Schillerstraße",
           "Goethestraße", "Lindenallee", "Am Markt", "Gewerbepark", "Mühlenweg", "Parkstraße"),
    "fr": ("rue de la République", "avenue Victor Hugo", "boulevard Haussmann", "rue du Commerce",
           "place de la Gare", "rue des Lilas", "avenue Jean Jaurès", "rue de l'Industrie"),
    "en": ("High Street", "Station Road", "Church Lane", "Victoria Road", "Mill Lane",
           "King Street", "Park Avenue", "Market Street", "Commerce Drive", "Oak Avenue"),
}
_CITIES = {
    "DE": (("10115", "Berlin"), ("20095", "Hamburg"), ("80331", "München"), ("50667", "Köln"),
           ("60311", "Frankfurt am Main"), ("70173", "Stuttgart"), ("40213", "Düsseldorf"),
           ("04109", "Leipzig"), ("28195", "Bremen"), ("90402", "Nürnberg")),
    "AT": (("1010", "Wien"), ("8010", "Graz"), ("4020", "Linz"), ("5020", "Salzburg"),
           ("6020", "Innsbruck")),
    "CH": (("8001", "Zürich"), ("3011", "Bern"), ("4051", "Basel"), ("6003", "Luzern"),
           ("9000", "St. Gallen")),
    "FR": (("75002", "Paris"), ("69002", "Lyon"), ("13001", "Marseille"), ("31000", "Toulouse"),
           ("33000", "Bordeaux"), ("59000", "Lille"), ("44000", "Nantes"), ("67000", "Strasbourg")),
    "BE": (("1000", "Bruxelles"), ("4000", "Liège"), ("5000", "Namur"), ("6000", "Charleroi")),
    "GB": (("EC1A 1BB", "London"), ("M1 1AE", "Manchester"), ("B1 1BB", "Birmingham"),
           ("LS1 4AP", "Leeds"), ("BS1 4DJ", "Bristol"), ("G1 1XQ", "Glasgow")),
    "US": (("IL 62701", "Springfield"), ("TX 78701", "Austin"), ("OH 43215", "Columbus"),
           ("CO 80202", "Denver"), ("OR 97204", "Portland"), ("NC 27601", "Raleigh")),
}
_BANKS = {  # country -> (bank code, BIC)
    "DE": (("37040044", "COBADEFFXXX"), ("50010517", "INGDDEFFXXX"), ("70150000", "SSKMDEMMXXX"),
           ("10070000", "DEUTDEBBXXX"), ("20050550", "HASPDEHHXXX")),
    "AT": (("12000", "BKAUATWWXXX"), ("20111", "GIBAATWWXXX"), ("32000", "RLNWATWWXXX")),
    "CH": (("00762", "UBSWCHZH80A"), ("00700", "ZKBKCHZZ80A"), ("04835", "CRESCHZZ80A")),
    "FR": (("30004", "BNPAFRPPXXX"), ("30003", "SOGEFRPPXXX"), ("10278", "CMCIFR2AXXX")),
    "BE": (("001", "GEBABEBBXXX"), ("310", "BBRUBEBBXXX"), ("068", "GKCCBEBBXXX")),
    "GB": (("NWBK", "NWBKGB2LXXX"), ("BARC", "BARCGB22XXX"), ("LOYD", "LOYDGB2LXXX")),
}
# fmt: on


def language(locale: str) -> str:
    """The two-letter language of a locale like de_AT."""
    return locale.split("_")[0]


def _digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(n))


def vat_id(rng: random.Random, country: str) -> str | None:
    """A VAT id with a valid check digit for the country (None where there is no VAT id)."""
    validators = {"DE": de_vat, "AT": at_uid, "CH": ch_vat, "BE": be_vat, "GB": gb_vat}
    if country == "FR":
        while True:
            siren = _digits(rng, 9)
            if fr_siren.is_valid(siren):
                return "FR" + fr_siren.to_tva(siren)
    if country not in validators:
        return None
    shapes = {
        "DE": lambda: "DE" + str(rng.randint(1, 9)) + _digits(rng, 8),
        "AT": lambda: "ATU" + _digits(rng, 8),
        "CH": lambda: "CHE" + str(rng.randint(1, 9)) + _digits(rng, 8) + "MWST",
        "BE": lambda: "BE0" + str(rng.randint(2, 9)) + _digits(rng, 8),
        "GB": lambda: "GB" + str(rng.randint(1, 9)) + _digits(rng, 8),
    }
    while True:
        candidate = shapes[country]()
        if validators[country].is_valid(candidate):
            return candidate


def _fr_rib_key(bank: str, branch: str, account: str) -> str:
    return f"{97 - (89 * int(bank) + 15 * int(branch) + 3 * int(account)) % 97:02d}"


def iban(rng: random.Random, country: str) -> tuple[str | None, str | None]:
    """A valid IBAN and its BIC for the country ((None, None) for US vendors)."""
    if country not in _BANKS:
        return None, None
    bank, bic = rng.choice(_BANKS[country])
    while True:
        if country == "DE":
            bban = bank + _digits(rng, 10)
        elif country == "AT":
            bban = bank + _digits(rng, 11)
        elif country == "CH":
            bban = bank + _digits(rng, 12)
        elif country == "FR":
            branch, account = _digits(rng, 5), _digits(rng, 11)
            bban = bank + branch + account + _fr_rib_key(bank, branch, account)
        elif country == "BE":
            body = bank + _digits(rng, 7)
            bban = body + f"{(int(body) % 97) or 97:02d}"
        else:  # GB
            bban = bank + _digits(rng, 14)
        number = country + "00" + bban
        number = country + stdnum_iban.calc_check_digits(number) + bban
        if stdnum_iban.is_valid(number):
            return number, bic


def format_iban(number: str) -> str:
    """An IBAN in the printed form: groups of four."""
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


@dataclass(frozen=True)
class Address:
    """A postal address in the country's order of lines."""

    street: str
    postcode: str
    city: str
    country: str

    def lines(self, lang: str) -> list[str]:
        """The printed lines (street, town line, country)."""
        if self.country == "GB":
            town = f"{self.city} {self.postcode}"
        elif self.country == "US":
            town = f"{self.city}, {self.postcode}"
        else:
            town = f"{self.postcode} {self.city}"
        return [self.street, town, COUNTRY_NAMES[self.country][lang]]

    def one_line(self, lang: str) -> str:
        """Street and town on one line, as the master data and the labels hold it (the
        country is a field of its own)."""
        return ", ".join(self.lines(lang)[:2])


def address(rng: random.Random, country: str) -> Address:
    """A plausible street address in the country."""
    lang = {"DE": "de", "AT": "de", "CH": "de", "FR": "fr", "BE": "fr"}.get(country, "en")
    street = rng.choice(_STREETS[lang])
    number = rng.randint(1, 180)
    if lang == "de":
        line = f"{street} {number}"
    elif country == "US":
        line = f"{number * 10} {street}, Suite {rng.randint(1, 9)}00"
    else:
        line = f"{number} {street}"
    postcode, city = rng.choice(_CITIES[country])
    return Address(line, postcode, city, country)


def legal_name(rng: random.Random, country: str, category_word: str) -> tuple[str, str]:
    """A company name and its legal form, e.g. ("Müller Bürobedarf", "GmbH")."""
    lang = {"DE": "de", "AT": "de", "CH": "de", "FR": "fr", "BE": "fr"}.get(country, "en")
    form = rng.choice(LEGAL_FORMS[country])
    pattern = rng.randrange(4)
    surnames = _SURNAMES[lang]
    if pattern == 0:
        base = f"{rng.choice(surnames)} {category_word}"
    elif pattern == 1:
        joiner = {"de": "&", "fr": "&", "en": "&"}[lang]
        base = f"{rng.choice(surnames)} {joiner} {rng.choice(surnames)}"
    elif pattern == 2:
        base = f"{rng.choice(_BRAND_STEMS)}{rng.choice(_BRAND_TAILS)}"
    else:
        base = f"{rng.choice(_BRAND_STEMS)}{rng.choice(_BRAND_TAILS)} {category_word}"
    return base, form


_TRANSLIT = str.maketrans(
    {
        "ä": "ae",
        "ö": "oe",
        "ü": "ue",
        "Ä": "Ae",
        "Ö": "Oe",
        "Ü": "Ue",
        "ß": "ss",
        "é": "e",
        "è": "e",
        "ê": "e",
        "à": "a",
        "ç": "c",
        "É": "E",
    }
)


def name_variants(base: str, form: str) -> list[str]:
    """Realistic variants of a legal name, as they appear on invoices and in old records."""
    full = f"{base} {form}"
    variants = [base, full.upper(), f"{base} {_LONG_FORMS.get(form, form)}"]
    if "&" in base:
        variants.append(
            base.replace("&", "und" if form in LEGAL_FORMS["DE"] else "and") + f" {form}"
        )
    translit = full.translate(_TRANSLIT)
    if translit != full:
        variants.append(translit)
    seen: list[str] = []
    for v in variants:
        if v != full and v not in seen:
            seen.append(v)
    return seen


def email(base: str, country: str) -> str:
    """An invoicing e-mail address derived from the company name."""
    slug = "".join(ch for ch in base.translate(_TRANSLIT).lower() if ch.isalnum())[:18] or "vendor"
    tld = {"DE": "de", "AT": "at", "CH": "ch", "FR": "fr", "BE": "be", "GB": "co.uk", "US": "com"}[
        country
    ]
    return f"invoices@{slug}.{tld}"
