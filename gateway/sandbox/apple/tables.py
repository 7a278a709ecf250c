"""The fixed tables the Apple seed draws from: campaigns per account, ad-group themes, age
ranges and bid strategies."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.sandbox.apple.model import ENABLED, PAUSED


@dataclass(frozen=True, slots=True)
class CampaignSpec:
    name: str
    countries: tuple[str, ...]
    placements: tuple[str, ...]
    budget: str
    status: str = ENABLED
    deleted: bool = False
    source: str = "APPSTORE"


LARGE_CAMPAIGNS = (
    CampaignSpec("US Brand — Search Results", ("US",), ("APPSTORE_SEARCH_RESULTS",), "250.00"),
    CampaignSpec(
        "NA Discovery — Search",
        ("US", "CA"),
        ("APPSTORE_SEARCH_RESULTS", "APPSTORE_SEARCH_TAB"),
        "400.00",
    ),
    CampaignSpec("Today Tab Launch", ("US", "GB", "AU"), ("APPSTORE_TODAY_TAB",), "1200.00"),
    CampaignSpec("Product Pages — Similar Apps", ("US",), ("APPSTORE_PRODUCT_PAGES",), "90.00"),
    CampaignSpec(
        "Competitor Conquest",
        ("US", "CA", "MX"),
        ("APPSTORE_SEARCH_RESULTS",),
        "150.00",
        status=PAUSED,
    ),
    CampaignSpec("Holiday 2025", ("US",), ("APPSTORE_SEARCH_RESULTS",), "500.00", deleted=True),
)
EU_CAMPAIGNS = (
    CampaignSpec("DACH Brand", ("DE", "AT", "CH"), ("APPSTORE_SEARCH_RESULTS",), "120.00"),
    CampaignSpec("France — Search Tab", ("FR",), ("APPSTORE_SEARCH_TAB",), "60.00"),
    CampaignSpec("Spain Launch", ("ES",), (), "45.00", status=PAUSED),
)
MAPS_CAMPAIGNS = (
    CampaignSpec("London Stores — Maps", ("GB",), ("MAPS_SEARCH_RESULTS",), "80.00", source="MAPS"),
)

THEMES = (
    "Brand exact",
    "Brand broad",
    "Generic fitness",
    "Running tracker",
    "Meal planner",
    "Sleep sounds",
    "Habit builder",
    "Competitor A",
    "Competitor B",
    "Discovery",
    "Lookalike installs",
    "Re-engage lapsed",
    "Weekend push",
    "iPad users",
    "Women 25-44",
)
AGES: tuple[tuple[str | None, str | None], ...] = (
    (None, None),
    (None, None),
    ("18", "34"),
    ("25", "54"),
    ("35", None),
    ("18", "24"),
    ("45", None),
    ("21", "64"),
)
BIDS = (
    ("MANUAL_CPT", "TAP", "CPT"),
    ("MANUAL_CPT", "TAP", "CPT"),
    ("MAX_CONVERSIONS", "INSTALL", "CPT"),
    ("MANUAL_CPM", "IMPRESSION", "CPM"),
)
