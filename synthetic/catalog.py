# ruff: noqa: E501  (a data table: one catalogue item per line reads best)
"""What vendors sell and how the buyer codes it: categories, items, GL accounts, cost centres.

Each vendor belongs to one category. An item carries its descriptions in English, German and
French, its unit, a price range, a tax class and the GL account a clerk would book it to. A
vendor adds its own cost centre, so (vendor, description) -> (GL account, cost centre) is a
consistent pattern that a classifier can learn from the coded history.
"""

from __future__ import annotations

from dataclasses import dataclass

GL_ACCOUNTS: tuple[tuple[str, str, str], ...] = (
    ("0650", "Office equipment", "asset"),
    ("0670", "IT equipment", "asset"),
    ("6000", "Raw materials", "cogs"),
    ("6010", "Packaging materials", "cogs"),
    ("6020", "Spare parts", "cogs"),
    ("6100", "Freight and logistics", "expense"),
    ("6200", "Rent and leases", "expense"),
    ("6300", "Office supplies", "expense"),
    ("6400", "IT hardware (low value)", "expense"),
    ("6410", "Software and licences", "expense"),
    ("6420", "Cloud and hosting", "expense"),
    ("6500", "Telecommunications", "expense"),
    ("6600", "Utilities", "expense"),
    ("6700", "Repairs and maintenance", "expense"),
    ("6710", "Cleaning services", "expense"),
    ("6800", "Consulting fees", "expense"),
    ("6810", "Legal fees", "expense"),
    ("6900", "Marketing and advertising", "expense"),
    ("6910", "Trade fairs and events", "expense"),
    ("7000", "Travel", "expense"),
    ("7100", "Catering and canteen", "expense"),
    ("7200", "Training", "expense"),
    ("7300", "Insurance", "expense"),
    ("7500", "Bank charges", "expense"),
)

COST_CENTRES: tuple[tuple[str, str], ...] = (
    ("CC100", "Management"),
    ("CC110", "Finance"),
    ("CC120", "Human resources"),
    ("CC200", "Sales"),
    ("CC210", "Marketing"),
    ("CC300", "Production"),
    ("CC310", "Warehouse"),
    ("CC320", "Quality"),
    ("CC400", "IT"),
    ("CC500", "Facilities"),
    ("CC600", "Research and development"),
)


@dataclass(frozen=True)
class Item:
    """One thing a vendor sells, in three languages, with its usual GL account."""

    code: str
    en: str
    de: str
    fr: str
    unit: str
    low: str  # price range, as decimal strings
    high: str
    gl_account: str
    tax_class: str = "standard"  # standard, reduced (food), energy
    max_qty: int = 20
    fractional: bool = False  # hours, kg: quantities with decimals
    cost_centre: str | None = None  # overrides the vendor's cost centre


@dataclass(frozen=True)
class Category:
    """A kind of vendor: what it sells, where it is booked, whether a PO precedes it."""

    name: str
    words: dict[str, str]  # language -> word used in company names
    items: tuple[Item, ...]
    cost_centres: tuple[str, ...]  # a vendor picks one of these
    uses_po: bool


def _i(code: str, en: str, de: str, fr: str, unit: str, low: str, high: str, gl: str, **kw) -> Item:
    return Item(code, en, de, fr, unit, low, high, gl, **kw)


# fmt: off
CATEGORIES: tuple[Category, ...] = (
    Category("office_supplies", {"en": "Office Supplies", "de": "Bürobedarf", "fr": "Fournitures de Bureau"}, (
        _i("1001", "Copy paper A4 80g, 500 sheets", "Kopierpapier A4 80g, 500 Blatt", "Papier copieur A4 80g, 500 feuilles", "pcs", "3.20", "6.90", "6300", max_qty=60),
        _i("1002", "Ballpoint pens blue, pack of 10", "Kugelschreiber blau, 10er-Pack", "Stylos à bille bleus, lot de 10", "pcs", "2.50", "8.90", "6300"),
        _i("1003", "Lever arch file 80mm", "Ordner 80mm", "Classeur à levier 80mm", "pcs", "1.90", "4.50", "6300", max_qty=40),
        _i("1004", "Toner cartridge black", "Tonerkartusche schwarz", "Cartouche de toner noire", "pcs", "39.00", "129.00", "6300", max_qty=8),
        _i("1005", "Sticky notes 76x76mm", "Haftnotizen 76x76mm", "Notes adhésives 76x76mm", "pcs", "0.90", "2.40", "6300", max_qty=50),
        _i("1006", "Ergonomic desk chair", "Bürostuhl ergonomisch", "Chaise de bureau ergonomique", "pcs", "189.00", "649.00", "0650", max_qty=4),
        _i("1007", "Whiteboard markers, set of 4", "Whiteboard-Marker, 4er-Set", "Marqueurs pour tableau blanc, lot de 4", "pcs", "3.90", "9.90", "6300"),
    ), ("CC110", "CC120", "CC200", "CC500"), True),
    Category("it_hardware", {"en": "IT Systems", "de": "IT-Systeme", "fr": "Systèmes Informatiques"}, (
        _i("2001", "Laptop 14\" 16GB RAM 512GB SSD", "Notebook 14\" 16GB RAM 512GB SSD", "Ordinateur portable 14\" 16Go RAM 512Go SSD", "pcs", "899.00", "1699.00", "0670", max_qty=5),
        _i("2002", "Monitor 27\" QHD", "Monitor 27\" QHD", "Écran 27\" QHD", "pcs", "219.00", "419.00", "6400", max_qty=6),
        _i("2003", "USB-C docking station", "USB-C Dockingstation", "Station d'accueil USB-C", "pcs", "119.00", "249.00", "6400", max_qty=6),
        _i("2004", "Wireless keyboard and mouse set", "Funk-Tastatur und Maus Set", "Ensemble clavier et souris sans fil", "pcs", "29.00", "79.00", "6400", max_qty=10),
        _i("2005", "USB-C cable 2m", "USB-C Kabel 2m", "Câble USB-C 2m", "pcs", "6.90", "19.90", "6400", max_qty=30),
        _i("2006", "Network switch 24 ports", "Netzwerk-Switch 24 Port", "Commutateur réseau 24 ports", "pcs", "189.00", "459.00", "6400", max_qty=3),
    ), ("CC400",), True),
    Category("software", {"en": "Software", "de": "Software", "fr": "Logiciels"}, (
        _i("3001", "Annual licence, per user", "Jahreslizenz, pro Benutzer", "Licence annuelle, par utilisateur", "user", "49.00", "399.00", "6410", max_qty=40),
        _i("3002", "Cloud hosting, monthly", "Cloud-Hosting, monatlich", "Hébergement cloud, mensuel", "month", "89.00", "1290.00", "6420", max_qty=3),
        _i("3003", "Support and maintenance contract", "Wartungs- und Supportvertrag", "Contrat de support et maintenance", "month", "150.00", "900.00", "6410", max_qty=3),
        _i("3004", "Implementation services", "Implementierungsleistungen", "Prestations de mise en oeuvre", "h", "95.00", "160.00", "6800", max_qty=40, fractional=True),
    ), ("CC400", "CC110"), False),
    Category("logistics", {"en": "Logistics", "de": "Logistik", "fr": "Logistique"}, (
        _i("4001", "Pallet transport, domestic", "Palettentransport, national", "Transport de palettes, national", "pallet", "45.00", "120.00", "6100", max_qty=20),
        _i("4002", "Express courier shipment", "Expresskurier Sendung", "Envoi express par coursier", "pcs", "12.00", "65.00", "6100", max_qty=30),
        _i("4003", "Fuel surcharge", "Treibstoffzuschlag", "Surcharge carburant", "pcs", "8.00", "45.00", "6100", max_qty=5),
        _i("4004", "Warehousing, per pallet and month", "Lagerung, pro Palette und Monat", "Stockage, par palette et par mois", "pallet", "9.00", "18.00", "6100", max_qty=60, cost_centre="CC310"),
    ), ("CC310", "CC200"), True),
    Category("cleaning", {"en": "Cleaning Services", "de": "Gebäudereinigung", "fr": "Nettoyage"}, (
        _i("5001", "Office cleaning, monthly flat rate", "Unterhaltsreinigung, monatliche Pauschale", "Nettoyage des bureaux, forfait mensuel", "month", "650.00", "2400.00", "6710", max_qty=1),
        _i("5002", "Window cleaning", "Glasreinigung", "Nettoyage des vitres", "h", "28.00", "45.00", "6710", max_qty=16, fractional=True),
        _i("5003", "Sanitary supplies", "Hygieneartikel", "Produits d'hygiène", "pcs", "2.50", "14.00", "6300", max_qty=40),
    ), ("CC500",), False),
    Category("catering", {"en": "Catering", "de": "Catering", "fr": "Traiteur"}, (
        _i("6001", "Business lunch catering, per person", "Business-Lunch Catering, pro Person", "Déjeuner d'affaires, par personne", "pers", "14.00", "39.00", "7100", tax_class="reduced", max_qty=40),
        _i("6002", "Coffee beans 1kg", "Kaffeebohnen 1kg", "Café en grains 1kg", "kg", "14.00", "29.00", "7100", tax_class="reduced", max_qty=20),
        _i("6003", "Mineral water, crate of 12", "Mineralwasser, Kiste 12 Flaschen", "Eau minérale, caisse de 12", "pcs", "4.50", "9.90", "7100", tax_class="reduced", max_qty=30),
    ), ("CC120", "CC100", "CC200"), False),
    Category("consulting", {"en": "Consulting", "de": "Beratung", "fr": "Conseil"}, (
        _i("7001", "Consulting services", "Beratungsleistungen", "Prestations de conseil", "h", "110.00", "240.00", "6800", max_qty=60, fractional=True),
        _i("7002", "Project management", "Projektmanagement", "Gestion de projet", "day", "850.00", "1450.00", "6800", max_qty=15),
        _i("7003", "Travel expenses", "Reisekosten", "Frais de déplacement", "pcs", "40.00", "680.00", "7000", max_qty=1),
        _i("7004", "Legal advice", "Rechtsberatung", "Conseil juridique", "h", "180.00", "420.00", "6810", max_qty=20, fractional=True, cost_centre="CC100"),
    ), ("CC100", "CC110", "CC600"), False),
    Category("telecom", {"en": "Telecom", "de": "Telekommunikation", "fr": "Télécom"}, (
        _i("8001", "Mobile plan, monthly", "Mobilfunktarif, monatlich", "Forfait mobile, mensuel", "month", "12.00", "49.00", "6500", max_qty=40),
        _i("8002", "Fibre internet line 1 Gbit/s", "Glasfaser-Internetanschluss 1 Gbit/s", "Ligne internet fibre 1 Gbit/s", "month", "89.00", "590.00", "6500", max_qty=1),
        _i("8003", "Router rental", "Routermiete", "Location de routeur", "month", "4.90", "19.90", "6500", max_qty=3),
    ), ("CC400", "CC500"), False),
    Category("utilities", {"en": "Energy", "de": "Energie", "fr": "Énergie"}, (
        _i("9001", "Electricity consumption", "Stromverbrauch", "Consommation d'électricité", "kWh", "0.18", "0.39", "6600", tax_class="energy", max_qty=20000),
        _i("9002", "Standing charge", "Grundgebühr", "Abonnement", "month", "9.00", "45.00", "6600", tax_class="energy", max_qty=1),
        _i("9003", "Water supply", "Wasserversorgung", "Fourniture d'eau", "m3", "1.80", "4.20", "6600", tax_class="energy", max_qty=400),
    ), ("CC500",), False),
    Category("maintenance", {"en": "Technical Services", "de": "Technik Service", "fr": "Services Techniques"}, (
        _i("A001", "Machine maintenance", "Maschinenwartung", "Maintenance des machines", "h", "65.00", "120.00", "6700", max_qty=24, fractional=True),
        _i("A002", "Service call-out fee", "Anfahrtspauschale", "Frais de déplacement technicien", "pcs", "35.00", "95.00", "6700", max_qty=2),
        _i("A003", "Hydraulic pump spare part", "Ersatzteil Hydraulikpumpe", "Pièce de rechange pompe hydraulique", "pcs", "180.00", "940.00", "6020", max_qty=3),
        _i("A004", "Bearing 6204-2RS", "Kugellager 6204-2RS", "Roulement 6204-2RS", "pcs", "3.20", "11.50", "6020", max_qty=50),
    ), ("CC300", "CC500"), True),
    Category("raw_materials", {"en": "Metals", "de": "Metallhandel", "fr": "Métaux"}, (
        _i("B001", "Steel sheet 2mm, 1000x2000", "Stahlblech 2mm, 1000x2000", "Tôle d'acier 2mm, 1000x2000", "pcs", "38.00", "72.00", "6000", max_qty=80),
        _i("B002", "Aluminium profile 40x40, 6m", "Aluminiumprofil 40x40, 6m", "Profilé aluminium 40x40, 6m", "pcs", "24.00", "56.00", "6000", max_qty=60),
        _i("B003", "Hex screws M6x20, box of 100", "Sechskantschrauben M6x20, 100 Stück", "Vis hexagonales M6x20, boîte de 100", "pcs", "4.20", "11.90", "6000", max_qty=100),
        _i("B004", "Copper wire 2.5mm2", "Kupferdraht 2,5mm2", "Fil de cuivre 2,5mm2", "kg", "8.50", "14.90", "6000", max_qty=200, fractional=True),
    ), ("CC300",), True),
    Category("packaging", {"en": "Packaging", "de": "Verpackung", "fr": "Emballages"}, (
        _i("C001", "Cardboard box 400x300x200", "Faltkarton 400x300x200", "Carton 400x300x200", "pcs", "0.65", "1.90", "6010", max_qty=1000),
        _i("C002", "Stretch film 500mm, 23my", "Stretchfolie 500mm, 23my", "Film étirable 500mm, 23µ", "roll", "9.50", "21.00", "6010", max_qty=60),
        _i("C003", "EUR pallet", "EUR-Palette", "Palette EUR", "pcs", "9.00", "18.00", "6010", max_qty=100),
    ), ("CC310",), True),
    Category("marketing", {"en": "Media", "de": "Werbung", "fr": "Communication"}, (
        _i("D001", "Flyer printing A5, 1000 copies", "Flyerdruck A5, 1000 Stück", "Impression de flyers A5, 1000 ex.", "pcs", "59.00", "189.00", "6900", max_qty=10),
        _i("D002", "Online advertising campaign", "Online-Werbekampagne", "Campagne publicitaire en ligne", "pcs", "450.00", "4800.00", "6900", max_qty=1),
        _i("D003", "Trade fair stand construction", "Messestandbau", "Construction de stand de salon", "pcs", "1800.00", "9500.00", "6910", max_qty=1),
        _i("D004", "Graphic design", "Grafikdesign", "Conception graphique", "h", "65.00", "120.00", "6900", max_qty=30, fractional=True),
    ), ("CC210",), True),
    Category("training", {"en": "Academy", "de": "Akademie", "fr": "Formation"}, (
        _i("E001", "Seminar fee, per participant", "Seminargebühr, pro Teilnehmer", "Frais de séminaire, par participant", "pers", "290.00", "1490.00", "7200", max_qty=8),
        _i("E002", "E-learning licence", "E-Learning-Lizenz", "Licence e-learning", "user", "29.00", "149.00", "7200", max_qty=50),
    ), ("CC120",), False),
)
# fmt: on

CATEGORY_BY_NAME: dict[str, Category] = {c.name: c for c in CATEGORIES}
