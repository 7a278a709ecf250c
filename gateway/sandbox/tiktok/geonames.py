"""GeoNames ids of the countries the TikTok seed targets (TikTok ``location_ids`` are GeoNames
ids), from GeoNames' ``countryInfo.txt``; the sandbox's own copy, independent of the client's
table (``tests/sandbox/test_status_tables.py`` checks that they agree)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

GEONAME_ID_BY_COUNTRY: Mapping[str, str] = MappingProxyType(
    {
        "US": "6252001", "CA": "6251999", "GB": "2635167", "AU": "2077456", "MX": "3996063",
        "DE": "2921044", "FR": "3017382", "ES": "2510769", "IT": "3175395", "NL": "2750405",
        "AT": "2782113", "JP": "1861060",
    }
)  # fmt: skip
