"""The sandboxes carry their own status tables, transcribed from the platforms' docs; these
tests diff them against the clients' tables so that a disagreement is a reviewed event.

``KNOWN_DIFFERENCES`` lists every accepted disagreement, each with why; anything else fails.
"""

from __future__ import annotations

import ast
from pathlib import Path

from gateway.platforms.apple import statuses as apple_client
from gateway.platforms.base import AdSetStatus
from gateway.platforms.meta import statuses as meta_client
from gateway.platforms.tiktok import geonames as tiktok_geonames
from gateway.platforms.tiktok import statuses as tiktok_client
from gateway.sandbox.apple import model as apple_sandbox
from gateway.sandbox.meta import statuses as meta_sandbox
from gateway.sandbox.tiktok import geonames as sandbox_geonames
from gateway.sandbox.tiktok import statuses as tiktok_sandbox

SANDBOX_ROOT = Path(__file__).resolve().parents[2] / "gateway" / "sandbox"

#: Values one side knows and the other does not, on purpose.
KNOWN_DIFFERENCES: dict[str, frozenset[str]] = {
    # The Meta client maps the ad-level values too: the edges' filters accept them and a
    # future API version could report them on ad sets; the sandbox never seeds them.
    "meta: client maps, ad sets never report": frozenset(meta_sandbox.AD_ONLY_STATUSES),
}


def test_no_sandbox_module_imports_a_clients_tables() -> None:
    # The sandboxes may build a client to talk to themselves (client_for), and nothing more.
    allowed = {"gateway.platforms.base", "gateway.platforms.upstream",
               "gateway.platforms.meta.client", "gateway.platforms.tiktok.client",
               "gateway.platforms.apple.client"}  # fmt: skip
    # ...and the suite writes a configuration from the platforms' defaults (registry).
    allowed_names = {
        "gateway.platforms": {"registry"},
        "gateway.platforms.meta": {"API_VERSION", "MetaClient"},
    }
    offenders = []
    for path in SANDBOX_ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [
                    node.module
                    for alias in node.names
                    if alias.name not in allowed_names.get(node.module, set())
                ]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            offenders += [
                f"{path.relative_to(SANDBOX_ROOT)}: {name}"
                for name in names
                if name.startswith("gateway.platforms") and name not in allowed
            ]
    assert offenders == []


# -- TikTok -----------------------------------------------------------------------------------


def test_tiktok_secondary_statuses_file_under_the_same_primary_status() -> None:
    client = {s: row.primary for s, row in tiktok_client.SECONDARY_STATUSES.items()}
    assert client == dict(tiktok_sandbox.ADGROUP_PRIMARY)


def test_tiktok_primary_status_filters_select_the_same_rows() -> None:
    assert dict(tiktok_client.PRIMARY_STATUS_FILTERS) == dict(
        tiktok_sandbox.ADGROUP_PRIMARY_FILTERS
    )
    assert tiktok_client.DEFAULT_PRIMARY_STATUS == tiktok_sandbox.DEFAULT_PRIMARY_STATUS


def test_every_primary_status_the_client_pushes_down_is_one_tiktok_accepts() -> None:
    pushed = {
        tiktok_client.primary_status_filter(frozenset(s)) for s in _subsets(frozenset(AdSetStatus))
    }
    assert pushed - {None} <= set(tiktok_sandbox.ADGROUP_PRIMARY_FILTERS)


def test_the_sandbox_geonames_ids_are_the_clients() -> None:
    for country, geoname in sandbox_geonames.GEONAME_ID_BY_COUNTRY.items():
        assert tiktok_geonames.GEONAME_ID_BY_COUNTRY[country] == geoname


# -- Meta -------------------------------------------------------------------------------------


def test_meta_ad_set_values_are_all_mapped_by_the_client() -> None:
    client = set(meta_client.EFFECTIVE_STATUSES)
    sandbox = set(meta_sandbox.ADSET_EFFECTIVE_STATUSES)
    assert sandbox <= client
    only_client = client - sandbox
    assert only_client == KNOWN_DIFFERENCES["meta: client maps, ad sets never report"]


def test_meta_push_down_names_only_values_the_edges_accept() -> None:
    for statuses in _subsets(frozenset(AdSetStatus)):
        rule = meta_client.effective_status_rule(statuses)
        assert rule["field"] == "adset.effective_status"
        assert rule["value"] == meta_client.effective_status_filter(statuses)
        assert set(meta_client.effective_status_filter(statuses)) <= meta_sandbox.ANY_FILTER_STATUS
    assert set(meta_client.effective_status_filter(None)) == meta_sandbox.ANY_FILTER_STATUS
    assert meta_client.HIDDEN_BY_DEFAULT == meta_sandbox.HIDDEN_BY_DEFAULT


def test_the_meta_edge_parameter_rejects_what_the_client_no_longer_sends_there() -> None:
    rejected = set(meta_client.EFFECTIVE_STATUSES) - meta_sandbox.ACCOUNT_ADSETS_PARAM
    assert rejected == {"IN_PROCESS", "WITH_ISSUES"}


# -- Apple ------------------------------------------------------------------------------------


def test_apple_switch_values_agree() -> None:
    every = frozenset(AdSetStatus)
    assert apple_client.apple_status_values(every) == list(apple_sandbox.AD_GROUP_STATUSES)


def _subsets(items: frozenset[AdSetStatus]) -> list[frozenset[AdSetStatus]]:
    ordered = sorted(items)
    return [
        frozenset(s for bit, s in enumerate(ordered) if mask >> bit & 1)
        for mask in range(1 << len(ordered))
    ]
