"""The plain-field executor gives exactly what graphql-core's own execution gives.

Two differentials: the gateway's schema over the sandboxes (real rows), and a small schema of
the same kinds of fields over rows built to break (nulls where the schema forbids them, values
no enum or scalar accepts, resolvers that raise), each executed by the plain-field executor
(made and prepared as ``build_schema`` does) and by graphql-core's reference execution. Data,
key order and errors (message, path, locations) must be the same.
"""

from __future__ import annotations

import dataclasses
import enum
import gc
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
import orjson
import pytest
import strawberry
from graphql import DirectiveLocation
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionResult, get_object_definition

from gateway.listing.types import ListFilters, PageSize
from gateway.platforms import base
from gateway.platforms.meta.client import MetaClient
from gateway.schema import build_schema
from gateway.schema.connection import AdSetEdge
from gateway.schema.documents import DocumentCache, DocumentLimits
from gateway.schema.executor import (
    NOT_LOADED,
    ByIdentity,
    FieldHookError,
    KeptList,
    Unresolved,
    dumps_result,
    executor_class,
    plain,
)
from gateway.schema.types import (
    DATETIME_SCALAR,
    AdSet,
    AgeRange,
    Money,
    PageObjects,
    TargetingSummary,
)
from tests.gateway.conftest import PROJECT, Gateway

GATEWAY_QUERY = """
query Mixed($projectId: ID!, $skipBudget: Boolean!) {
  adSets(projectId: $projectId, first: 60) {
    totalCount
    pageInfo { ...Paging }
    edges {
      cursor
      node {
        __typename
        id
        label: name
        status
        platform
        dailyBudget @skip(if: $skipBudget) { amount currency }
        lifetimeBudget { amount }
        ...Times
        targetingSummary { geo age { min max } customAudiences placements }
        campaign { id name }
        adAccount { id name currency }
        metricsSnapshot7d
        ... on AdSet { again: status platformStatus }
      }
    }
    sources { platform status code }
  }
}
fragment Paging on PageInfo { hasNextPage hasPreviousPage startCursor endCursor }
fragment Times on AdSet { startTime endTime createdAt }
"""


async def run_gateway(gateway: Gateway, fast: bool, skip_budget: bool) -> Any:
    result = await build_schema(fast=fast).execute(
        GATEWAY_QUERY,
        variable_values={"projectId": PROJECT, "skipBudget": skip_budget},
        context_value=gateway.reader_context(),
    )
    assert result.errors is None, result.errors
    return result.data


@pytest.mark.parametrize("skip_budget", [False, True])
async def test_fast_execution_matches_graphql_core_to_the_key_order(
    gateway: Gateway, skip_budget: bool
) -> None:
    fast = await run_gateway(gateway, fast=True, skip_budget=skip_budget)
    slow = await run_gateway(gateway, fast=False, skip_budget=skip_budget)
    # The response bytes: the fast path leaves a UTC datetime for the writer to format.
    assert dumps_result(fast) == dumps_result(slow)
    first = fast["adSets"]["edges"][0]["node"]
    assert list(first) == list(slow["adSets"]["edges"][0]["node"])
    assert first["__typename"] == "AdSet"
    assert ("dailyBudget" in first) is not skip_budget
    assert first["again"] == first["status"]


async def test_an_ad_set_its_selection_cannot_build_reads_its_row_as_graphql_core_does(
    gateway: Gateway,
) -> None:
    # given an ad set by ID: its campaign is not read ahead, so the object is executed field
    # by field, its fields read along their paths into the row
    listed = await run_gateway(gateway, fast=True, skip_budget=False)
    adset_id = listed["adSets"]["edges"][0]["node"]["id"]
    document = """
    query($id: ID!) { node(id: $id) { ... on AdSet {
        id adsetId campaignId adAccountId platform externalId name status platformStatus
        optimizationGoal billingEvent dailyBudget { amount currency } startTime endTime
        targetingSummary { geo age { min max } placements } createdAt metricsSnapshot7d
        campaign { id name }
    } } }
    """

    async def run(fast: bool) -> Any:
        result = await build_schema(fast=fast).execute(
            document, variable_values={"id": adset_id}, context_value=gateway.reader_context()
        )
        assert result.errors is None, result.errors
        return result.data

    fast, slow = await run(fast=True), await run(fast=False)
    # then the executor's reads are graphql-core's resolvers' (to the key order)
    assert dumps_result(fast) == dumps_result(slow)
    assert fast["node"]["adsetId"] == adset_id
    assert list(fast["node"]) == list(slow["node"])


async def test_a_repeated_page_gives_its_edges_again_and_writes_the_same_json(
    gateway: Gateway,
) -> None:
    schema = build_schema(fast=True)

    async def run() -> Any:
        context = gateway.reader_context()
        document = GATEWAY_QUERY.replace("cursor", "")  # an edge's cursor is its own resolver
        variables = {"projectId": PROJECT, "skipBudget": False}
        result = await schema.execute(document, variable_values=variables, context_value=context)
        assert result.errors is None, result.errors
        return result.data

    first, second, again = await run(), await run(), await run()
    # built the first two times (a page read once is not kept), given again from the third
    assert not isinstance(first["adSets"]["edges"], KeptList)
    assert not isinstance(second["adSets"]["edges"], KeptList)
    assert second == first
    assert isinstance(again["adSets"]["edges"], KeptList)
    assert again == first
    expected = dumps_result(first)  # built as plain lists, no kept JSON in it
    assert dumps_result(again) == expected
    assert dumps_result(again) == expected  # written once, then reused


async def test_what_a_selection_made_keeps_holds_no_document() -> None:
    # given a schema whose document cache keeps nothing (every document too large for it)
    executor = executor_class()
    schema = strawberry.Schema(
        query=Query,
        execution_context_class=executor,
        extensions=[lambda: DocumentLimits(DocumentCache(max_bytes=1))],
    )
    executor.prepare(schema)
    document = '{ table(keys: ["good"]) { rows { id leaf { name } } } }'
    # when a document is executed, and dropped
    assert (await schema.execute(document)).errors is None
    gc.collect()
    # then the functions made for it are kept, its nodes are not
    kept = list(executor.builders.selections.values())
    assert kept
    assert all(ref() is None for refs, _ in kept for ref in refs)


async def test_a_kept_page_is_built_again_when_a_campaign_it_shows_changed(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = build_schema(fast=True)
    document = """
    query($projectId: ID!) { adSets(projectId: $projectId, first: 60) {
        edges { node { id platform campaign { id name } adAccount { name currency } } }
    } }
    """

    async def run() -> Any:
        context = gateway.reader_context()
        variables = {"projectId": PROJECT}
        result = await schema.execute(document, variable_values=variables, context_value=context)
        assert result.errors is None and result.data is not None, result.errors
        return result.data["adSets"]["edges"]

    await run()
    await run()
    assert isinstance(await run(), KeptList)
    # when the campaigns Meta's client holds are renamed (a read a minute later)
    original = MetaClient.cached_campaigns

    def renamed(self: MetaClient, account: Any, ids: Any) -> dict[str, Any]:
        found = original(self, account, ids)
        return {k: dataclasses.replace(r, name=f"{r.name} (renamed)") for k, r in found.items()}

    monkeypatch.setattr(MetaClient, "cached_campaigns", renamed)
    edges = await run()
    # then the page is built again and shows the new names
    assert not isinstance(edges, KeptList)
    meta = [e["node"] for e in edges if e["node"]["platform"] == "META_ADS"]
    assert meta and all(n["campaign"]["name"].endswith("(renamed)") for n in meta)


def test_results_are_written_as_orjson_writes_them() -> None:
    class Name(str):
        pass

    class Loud(str):
        def __str__(self) -> str:
            return "OVERRIDDEN"

    class Shifted(int):
        def __int__(self) -> int:
            return 0

    class Hiding(dict[str, int]):
        def items(self) -> Any:
            return []

        def keys(self) -> Any:
            return []

    class Short(list[int]):
        def __iter__(self) -> Any:
            return iter([])

    class Tag(enum.StrEnum):
        A = "a"

    class Level(enum.IntEnum):
        ONE = 1

    class Fields(dict[str, int]):
        pass

    class Items(list[int]):
        pass

    value = {
        "name": Name("x"),
        "tag": Tag.A,
        "level": Level.ONE,
        "fields": Fields(a=1),
        "items": Items([1, 2]),
        "loud": Loud("x"),
        "shifted": Shifted(7),
        "hiding": Hiding(a=1),
        "short": Short([1, 2]),
        "plain": [True, 1.5, None, "s", {"k": [Color.RED.value]}],
    }
    assert dumps_result(value) == orjson.dumps(value)


@pytest.mark.parametrize(
    ("graphql_type", "record"),
    [(Money, base.Money), (AgeRange, base.AgeRange), (TargetingSummary, base.TargetingSummary)],
)
def test_records_served_as_they_are_have_the_graphql_types_fields(
    graphql_type: type, record: type[msgspec.Struct]
) -> None:
    definition = get_object_definition(graphql_type, strict=True)
    assert [f.python_name for f in definition.fields] == list(record.__struct_fields__)


async def test_adset_of_builds_what_init_builds(gateway: Gateway) -> None:
    service = gateway.app.state.runtime.service
    project = service.settings.project(PROJECT)
    assert project is not None
    page = await service.list_adsets(project, ListFilters(), limit=PageSize(50))
    objects = PageObjects(service.loaders(PROJECT))
    nodes = AdSet.of_rows(page.items, objects)
    assert len(nodes) == len(page.items)
    for item, built in zip(page.items, nodes, strict=True):
        assert vars(built) == vars(AdSet.of(item, objects))
        fields = {f.name: getattr(built, f.name) for f in dataclasses.fields(AdSet) if f.init}
        assert set(vars(built)) == set(fields)
        assert AdSet(**fields) == built
    edges = AdSetEdge.of_nodes(nodes, page)
    assert [vars(e) for e in edges] == [
        vars(AdSetEdge(node=node, _page=page, _index=i)) for i, node in enumerate(nodes)
    ]


# -- a schema built to break ---------------------------------------------------------------


@strawberry.enum
class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Leaf:
    name: str
    size: int | None


@strawberry.type
class Row:
    id: strawberry.ID
    name: str
    nick: str | None
    count: int
    ratio: float | None
    color: Color
    shade: Color | None
    colors: list[Color]
    tags: list[str]
    leaf: Leaf
    spare: Leaf | None
    leaves: list[Leaf]
    at: datetime | None

    @strawberry.field
    def boom(self) -> str | None:
        raise ValueError(f"boom on {self.id}")

    @strawberry.field
    def hard_boom(self) -> str:
        raise ValueError(f"hard boom on {self.id}")

    @strawberry.field
    async def later(self) -> Leaf | None:
        return self.spare

    # Resolver-backed plain fields: the attribute when it holds a value, else the resolver.
    # (strawberry.field with arguments is an untyped decorator, as in gateway.schema)
    @strawberry.field(metadata=plain("_pal"))  # type: ignore[untyped-decorator]
    async def pal(self) -> Leaf | None:
        RESOLVED.append(f"pal {self.id}")
        value = self._pal
        if not isinstance(value, Unresolved):
            return value
        if value.error is not None:
            raise value.error
        return Leaf(name=f"loaded {self.id}", size=None)

    @strawberry.field(metadata=plain("_tint"))  # type: ignore[untyped-decorator]
    def tint(self) -> str:
        RESOLVED.append(f"tint {self.id}")
        value = self._tint
        if not isinstance(value, Unresolved):
            return value  # type: ignore[return-value]  # None on purpose in one row
        if value.error is not None:
            raise value.error
        return f"loaded {self.id}"

    _pal: strawberry.Private[Leaf | Unresolved | None] = NOT_LOADED
    _tint: strawberry.Private[str | Unresolved | None] = NOT_LOADED


PLUS_TWO = timezone(timedelta(hours=2))

#: Resolver calls of the resolver-backed plain fields.
RESOLVED: list[str] = []


def row(ident: str, **changes: Any) -> Row:
    """A valid row with ``changes``, which need not respect the schema."""
    fields: dict[str, Any] = {
        "id": strawberry.ID(ident),
        "name": f"row {ident}",
        "nick": None,
        "count": 3,
        "ratio": 0.5,
        "color": Color.RED,
        "shade": None,
        "colors": [Color.RED, Color.BLUE],
        "tags": ["a", "b"],
        "leaf": Leaf(name="leaf", size=1),
        "spare": Leaf(name="spare", size=None),
        "leaves": [Leaf(name="x", size=2), Leaf(name="y", size=None)],
        "at": datetime(2026, 4, 1, 12, 30, 15, 123456, tzinfo=UTC),
    }
    fields.update(changes)
    return Row(**fields)


ROWS: dict[str, Row] = {
    "good": row("good"),
    "null-name": row("null-name", name=None),
    "null-leaf": row("null-leaf", leaf=None),
    "null-leaf-name": row("null-leaf-name", leaf=Leaf(name=None, size=1)),  # type: ignore[arg-type]
    "null-in-list": row("null-in-list", colors=[Color.RED, None], tags=["a", None]),
    "null-list": row("null-list", leaves=None, tags=None),
    "bad-enum": row("bad-enum", color="GREEN"),
    "bad-nullable-enum": row("bad-nullable-enum", shade=7),
    "bad-enum-in-list": row("bad-enum-in-list", colors=[Color.BLUE, "purple"]),
    "bad-int": row("bad-int", count="three"),
    "float-int": row("float-int", count=2.5),
    "big-int": row("big-int", count=2**40),
    "bad-float": row("bad-float", ratio="half"),
    "nan-float": row("nan-float", ratio=math.nan),
    "infinite-float": row("infinite-float", ratio=-math.inf),
    "smallest-int": row("smallest-int", count=-(2**31)),
    "int-as-string": row("int-as-string", name=42, id=7, count=True),
    # a UTC instant is left for the writer; any other goes through DateTime's serializer
    "other-zone-at": row("other-zone-at", at=datetime(2026, 4, 1, 14, 30, tzinfo=PLUS_TWO)),
    "naive-at": row("naive-at", at=datetime(2026, 4, 1, 12, 30)),
    "bad-at": row("bad-at", at="yesterday"),
    "bad-leaf-list": row("bad-leaf-list", leaves=[Leaf(name="ok", size="big")]),  # type: ignore[arg-type]
    "read-ahead": row("read-ahead", _pal=Leaf(name="ahead", size=3), _tint="ahead"),
    "failed-ahead": row(
        "failed-ahead",
        _pal=Unresolved(ValueError("pal read failed")),
        _tint=Unresolved(ValueError("tint read failed")),
    ),
    "null-ahead": row("null-ahead", _pal=None, _tint=None),
    "bad-ahead": row("bad-ahead", _pal=Leaf(name=None, size=1), _tint=7),  # type: ignore[arg-type]
}


class KeptRows(ByIdentity, list[Row]):
    """Rows whose output the executor may keep: it is a function of the row objects."""

    def identity(self) -> tuple[object, ...]:
        return tuple(self)


@strawberry.type
class Table:
    rows: list[Row]  # a plain field: the executor completes it


@strawberry.type
class Query:
    @strawberry.field
    def row(self, key: str) -> Row | None:
        return ROWS[key]

    @strawberry.field
    def table(self, keys: list[str]) -> Table:
        return Table(rows=KeptRows(ROWS[key] for key in keys))

    @strawberry.field
    def rows(self, keys: list[str]) -> list[Row | None]:
        return [ROWS[key] for key in keys]

    @strawberry.field
    def strict_rows(self, keys: list[str]) -> list[Row]:
        return [ROWS[key] for key in keys]


def schemas(**options: Any) -> tuple[strawberry.Schema, strawberry.Schema]:
    """(the plain-field executor's, graphql-core's) over the same types, each with a cache of
    parsed documents as the gateway's schema has (the executor keeps what it made for a
    document by its parsed nodes, so a repeated document finds it)."""
    extensions = list(options.pop("extensions", []))
    fast_documents, reference_documents = DocumentCache(), DocumentCache()
    executor = executor_class()
    options.setdefault("config", StrawberryConfig(scalar_map={datetime: DATETIME_SCALAR}))
    fast = strawberry.Schema(
        query=Query,
        execution_context_class=executor,
        extensions=[*extensions, lambda: DocumentLimits(fast_documents)],
        **options,
    )
    executor.prepare(fast)
    reference = strawberry.Schema(
        query=Query,
        extensions=[*extensions, lambda: DocumentLimits(reference_documents)],
        **options,
    )
    return fast, reference


FAST, REFERENCE = schemas()
ALL_KEYS = list(ROWS)

EVERYTHING = """
fragment Everything on Row {
  id name nick count ratio color shade colors tags at
  leaf { name size } spare { name size } leaves { name size }
}
"""

CORPUS: dict[str, tuple[str, dict[str, Any]]] = {
    "every row, every plain field": (
        "query($keys: [String!]!) { rows(keys: $keys) { ...Everything } }" + EVERYTHING,
        {"keys": ALL_KEYS},
    ),
    "a null in a non-null row nulls the list (strict list)": (
        "query($keys: [String!]!) { strictRows(keys: $keys) { ...Everything } }" + EVERYTHING,
        {"keys": ["good", "null-name"]},
    ),
    "each row alone": (
        "{ "
        + " ".join(f'r{i}: row(key: "{key}") {{ ...Everything }}' for i, key in enumerate(ROWS))
        + " }"
        + EVERYTHING,
        {},
    ),
    "resolver errors, nullable and not": (
        '{ rows(keys: ["good", "bad-enum"]) { id boom } one: row(key: "good") { id hardBoom } }',
        {},
    ),
    "resolver-backed plain fields: read ahead, not loaded, failed, null, wrong": (
        "query($keys: [String!]!) { rows(keys: $keys) { id tint pal { name size } } }",
        {"keys": ["read-ahead", "good", "failed-ahead", "null-ahead", "bad-ahead"]},
    ),
    "async resolver next to plain fields": (
        '{ rows(keys: ["good", "null-leaf"]) { name later { name size } spare { name } } }',
        {},
    ),
    "named, nested and inline fragments": (
        """
        { rows(keys: ["good", "bad-int", "null-in-list"]) {
            ...A
            ... on Row { count leaf { ...L } }
            ... { tags }
        } }
        fragment A on Row { id ...B }
        fragment B on Row { name colors }
        fragment L on Leaf { name size }
        """,
        {},
    ),
    "@skip and @include, literal": (
        """
        { rows(keys: ["good", "null-name"]) {
            id
            name @skip(if: true)
            nick @include(if: false)
            count @include(if: true)
            leaf @skip(if: false) { name size @skip(if: true) }
            ... on Row @include(if: false) { color }
            ...F @skip(if: true)
        } }
        fragment F on Row { tags }
        """,
        {},
    ),
    "@skip and @include, from variables": (
        """
        query($yes: Boolean!, $no: Boolean!) { rows(keys: ["good", "bad-enum"]) {
            id
            color @include(if: $yes)
            name @skip(if: $yes)
            leaf @include(if: $no) { name }
            ... on Row @skip(if: $no) { tags }
            both: count @skip(if: $no) @include(if: $yes)
        } }
        """,
        {"yes": True, "no": False},
    ),
    "aliases, repeated and merged fields": (
        """
        { rows(keys: ["good", "bad-int"]) {
            a: id b: id name name
            first: leaf { name } second: leaf { size }
            leaf { name } leaf { size }
            count n: count
        } }
        """,
        {},
    ),
    "__typename everywhere": (
        """
        { __typename rows(keys: ["good", "null-leaf"]) {
            __typename t: __typename id leaf { __typename name } leaves { __typename }
        } }
        """,
        {},
    ),
    "a list kept by identity, with rows that go the normal way": (
        "query($keys: [String!]!) { table(keys: $keys) { rows { id name color leaf { name } } } }",
        {"keys": ["good", "bad-enum", "read-ahead"]},
    ),
    "variables in arguments": (
        "query($key: String!, $keys: [String!]!) { row(key: $key) { id } rows(keys: $keys) "
        "{ id color } }",
        {"key": "bad-enum", "keys": ["good", "bad-nullable-enum"]},
    ),
}


def outcome(result: ExecutionResult) -> tuple[bytes, list[Any]]:
    """The response's data as written, and its errors."""
    errors = [error.formatted for error in result.errors or []]
    return dumps_result(result.data), errors


def key_orders(value: Any) -> Any:
    """The keys of every object in ``value``, in order (== ignores dict order)."""
    if isinstance(value, dict):
        return [(key, key_orders(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [key_orders(item) for item in value]
    return None


@pytest.mark.parametrize(("document", "variables"), CORPUS.values(), ids=list(CORPUS))
async def test_fast_and_reference_execution_agree(document: str, variables: dict[str, Any]) -> None:
    reference = await REFERENCE.execute(document, variable_values=variables)
    for _ in range(2):  # the second time with what the first made for the document
        fast = await FAST.execute(document, variable_values=variables)
        assert outcome(fast) == outcome(reference)
        assert key_orders(fast.data) == key_orders(reference.data)


async def test_a_value_read_ahead_skips_the_resolver() -> None:
    document = '{ rows(keys: ["read-ahead", "good"]) { tint pal { name } } }'
    RESOLVED.clear()
    fast = await FAST.execute(document)
    assert RESOLVED == ["tint good", "pal good"]  # the resolver ran only where nothing was read
    RESOLVED.clear()
    reference = await REFERENCE.execute(document)
    assert sorted(RESOLVED) == ["pal good", "pal read-ahead", "tint good", "tint read-ahead"]
    assert outcome(fast) == outcome(reference)
    assert fast.data == {
        "rows": [
            {"tint": "ahead", "pal": {"name": "ahead"}},
            {"tint": "loaded good", "pal": {"name": "loaded good"}},
        ]
    }


async def test_a_kept_list_is_given_again_only_for_the_same_objects(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    document = '{ table(keys: ["good", "read-ahead"]) { rows { id name leaf { name } tags } } }'
    first = (await FAST.execute(document)).data
    second = (await FAST.execute(document)).data
    again = (await FAST.execute(document)).data
    assert first is not None and second is not None and again is not None
    assert again == second == first == (await REFERENCE.execute(document)).data
    # the same rows, built twice: their output is the one built before (a new list of the
    # same dicts)
    rows, rows_again = second["table"]["rows"], again["table"]["rows"]
    assert rows_again is not rows
    assert all(a is b for a, b in zip(rows_again, rows, strict=True))
    # one row replaced by another object: built again, never the output kept for the old one
    monkeypatch.setitem(ROWS, "good", row("good", name="renamed"))
    changed = (await FAST.execute(document)).data
    assert changed is not None
    assert [r["name"] for r in changed["table"]["rows"]] == ["renamed", "row read-ahead"]
    assert changed["table"]["rows"][0] is not rows[0]


async def test_a_selection_made_once_follows_the_variables_of_each_execution() -> None:
    document = """
    query($yes: Boolean!) { table(keys: ["good", "read-ahead"]) { rows {
        id leaf { name @include(if: $yes) size @skip(if: $yes) } ...More @include(if: $yes)
    } } }
    fragment More on Row { tags count }
    """
    for yes in (True, False, True, False):
        variables = {"yes": yes}
        fast = await FAST.execute(document, variable_values=variables)
        reference = await REFERENCE.execute(document, variable_values=variables)
        assert outcome(fast) == outcome(reference)
        assert key_orders(fast.data) == key_orders(reference.data)
        assert fast.data is not None
        assert ("tags" in fast.data["table"]["rows"][0]) is yes


async def test_a_kept_list_with_a_row_that_fails_reports_it_every_time() -> None:
    document = '{ table(keys: ["good", "null-name", "read-ahead"]) { rows { id name } } }'
    reference = outcome(await REFERENCE.execute(document))
    assert reference[1]  # a null in a non-null field: an error at its path
    for _ in range(2):
        assert outcome(await FAST.execute(document)) == reference


def test_the_corpus_reaches_every_kind_of_failure() -> None:
    """The differential means something only if the reference reports these errors."""
    document, variables = CORPUS["every row, every plain field"]
    result = REFERENCE.execute_sync(document, variable_values=variables)
    messages = " | ".join(str(error) for error in result.errors or [])
    assert "Cannot return null for non-nullable field Row.name" in messages
    assert "Enum 'Color' cannot represent value: 'GREEN'" in messages
    assert "Int cannot represent non-integer value: 'three'" in messages
    assert "Float cannot represent non numeric value: 'half'" in messages
    assert "Int cannot represent non 32-bit signed integer value: 1099511627776" in messages
    assert "Float cannot represent non numeric value: nan" in messages


# -- hooks that plain fields would skip ----------------------------------------------------


class Uppercase(SchemaExtension):
    def resolve(
        self,
        _next: Callable[..., Any],
        root: Any,
        info: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        result = _next(root, info, *args, **kwargs)
        return result.upper() if isinstance(result, str) else result


class Counting(SchemaExtension):
    """Hooks the operation only: no per-field middleware."""

    def on_execute(self) -> Any:
        yield


@strawberry.directive(locations=[DirectiveLocation.FIELD])
def shout(value: str) -> str:
    return value.upper()


def test_an_extension_with_a_resolve_hook_is_refused_when_the_schema_is_built() -> None:
    with pytest.raises(FieldHookError, match="Uppercase implement resolve"):
        schemas(extensions=[Uppercase])


def test_a_custom_directive_is_refused_when_the_schema_is_built() -> None:
    with pytest.raises(FieldHookError, match="DirectivesExtension"):
        schemas(directives=[shout])


def test_extensions_without_field_hooks_are_accepted() -> None:
    fast, _ = schemas(extensions=[Counting])
    result = fast.execute_sync('{ row(key: "good") { name } }')
    assert result.data == {"row": {"name": "row good"}}
