"""A faster executor for fields that are plain attributes.

graphql-core spends about 5 us on every field (resolve info, Strawberry's resolver wrapper,
value completion); a 100-row page has thousands of fields, nearly all of them plain attributes
of our own dataclass-like types. For those fields this executor reads the attribute and completes
the value directly; fields with resolvers, and anything unexpected (a null where the schema
forbids one, a failed coercion), go through graphql-core's normal path, which also reports the
error properly. An object whose selection is made of plain fields all the way down (a row
with its budgets, targeting, campaign and account) is built by one function compiled for that
shape of selection (``_Builders``), without a Path or graphql-core's completion per object;
when a value there is not one it can take as it is, that object goes the normal way.

A field with a resolver can be plain too, when its value is usually known before execution
(a page's campaigns, read with the page): ``plain(attr)`` in its metadata names the attribute
that holds the value. The executor takes the attribute as the field's value unless it holds an
``Unresolved`` (not read ahead, or read and failed); then the resolver runs, and it must give
the attribute's value whenever the attribute has one (graphql-core's own execution only ever
calls the resolver). A field whose resolver only reads a dotted path of attributes
(``plain_path("_item.record.name")``, an object's fields read from the row it wraps rather
than copied into it) is plain the same way, the path read by the executor.

It overrides graphql-core's ``ExecutionContext.execute_fields`` and ``execute_field`` and reads
the schema's graphql-core form, so graphql-core is pinned to the minor version these were
written for (pyproject.toml); ``tests/gateway/test_executor.py`` compares its results with
graphql-core's own on a corpus of documents. Plain fields skip graphql-core's middleware, and
with it Strawberry's ``SchemaExtension.resolve`` hooks and schema directives: ``prepare``
refuses a schema that has any, when it is built.
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import keyword
import math
import weakref
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, ClassVar

import orjson
import strawberry
from cachetools import LRUCache
from graphql import (
    GRAPHQL_MAX_INT,
    GRAPHQL_MIN_INT,
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.collect_fields import FragmentDetails
from graphql.pyutils import Path, Undefined
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.base import StrawberryObjectDefinition

from gateway.wire import JSON_OPTIONS

#: Field metadata key: the attribute that holds a resolver-backed plain field's value.
PLAIN_ATTR = "gateway.plain_attr"
#: Field metadata key: the dotted attribute path a field's resolver reads, and nothing else.
PLAIN_PATH = "gateway.plain_path"


def plain(attr: str) -> dict[str, str]:
    """Field metadata that makes a field with a resolver plain, its value read from ``attr``
    (``strawberry.field(metadata=plain("_campaign"))``)."""
    return {PLAIN_ATTR: attr}


def plain_path(path: str) -> dict[str, str]:
    """Field metadata that makes a field plain whose resolver returns what the dotted
    ``path`` reads (``"_item.record.name"``): the executor reads the path itself, and never
    runs the resolver for it (there is no ``Unresolved`` to run it for)."""
    return {PLAIN_PATH: path}


class Unresolved:
    """What the attribute behind a resolver-backed plain field holds when it has no value for
    the executor to take: the field's resolver runs instead, and it loads the value, or raises
    ``error`` (the failure met when the value was read ahead) when there is one."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


#: Not read ahead: the resolver loads the value.
NOT_LOADED = Unresolved()


class Kind(enum.Enum):
    LEAF = 1
    LEAF_LIST = 2
    OBJECT = 3
    OBJECT_LIST = 4


@dataclass(frozen=True, slots=True)
class PlainField:
    """How to complete one plain field: the attribute (or dotted path of attributes) that
    holds its value, what it holds, its named type."""

    attr: str
    kind: Kind
    named_type: Any
    nullable: bool
    #: A leaf already in its output form when its Python type is exactly this (str for
    #: String and ID, int for Int, ...) and ``fits`` (if any) accepts it: no coercion call.
    exact: type | None = None
    #: The range check the scalar's coercion would make: a 32-bit Int, a finite Float.
    fits: Callable[[Any], bool] | None = None
    #: Enum leaves: Python value -> GraphQL name.
    names: Mapping[Any, str] | None = None
    #: The field has a resolver, run when the attribute holds an ``Unresolved``.
    resolved: bool = False


PlainFields = Mapping[str, Mapping[str, PlainField]]
Plan = tuple[tuple[str, PlainField | None, Any], ...]
#: A selection made of plain fields only, all the way down: (response name, plain field and
#: the program of its selection, if an object) per field; ``__typename`` is (name, None, the
#: type's name).
Program = tuple[tuple[str, PlainField | None, Any], ...]


class ByIdentity:
    """A list whose items' output, for a given plain-only selection, is fully determined by
    which objects ``identity`` gives (the same objects in the same order: the same output).

    The executor keeps the output of such lists (``_Builders``) once it has built it twice,
    and gives it again when the same objects come back after that, as a repeated page's rows
    do: the rows and the records they were made from are immutable and handed out again as
    the same objects. Each kept output holds its objects, so their ids cannot be reused while
    it is kept."""

    __slots__ = ()

    def identity(self) -> tuple[object, ...]:
        raise NotImplementedError


class _Bail(Exception):
    """A plain-only selection met a value it cannot take as it is."""


class FieldHookError(RuntimeError):
    """The schema has a per-field hook that plain fields would silently skip."""


class PlainFieldExecutor(StrawberryGraphQLCoreExecutionContext):
    """Executes plain attribute fields without per-field resolver machinery.

    Use a fresh subclass per schema (``executor_class``) and ``prepare`` it once the schema
    is built: the plain-field table is the subclass's."""

    plain: ClassVar[PlainFields] = {}
    builders: ClassVar[_Builders]

    @classmethod
    def prepare(cls, schema: strawberry.Schema) -> None:
        """Refuse ``schema`` if it has field hooks (``FieldHookError``); else take its table."""
        refuse_field_hooks(schema)
        cls.plain = plain_fields(schema)
        cls.builders = _Builders()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # (type name, id of a grouped field set) -> (that set, its plan). graphql-core hands
        # out the same grouped field set for every row of a list; the set is kept alive here
        # so that its id cannot be reused while this execution runs.
        self._plans: dict[tuple[str, int], tuple[Any, Plan | None]] = {}
        # The same, for the programs of plain-only selections.
        self._programs: dict[tuple[str, int], tuple[Any, Program | None]] = {}
        # The values of the variables the operation's directives read (see ``_selection_key``).
        self._directive_values: tuple[Any, ...] | None = None

    def _program(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> Program | None:
        """How to build the result of ``grouped_field_set`` on ``parent_type`` in one pass,
        when every field of it and below is plain (else None)."""
        key = (parent_type.name, id(grouped_field_set))
        cached = self._programs.get(key)
        if cached is not None and cached[0] is grouped_field_set:
            return cached[1]
        program = self._compile(parent_type, grouped_field_set)
        self._programs[key] = (grouped_field_set, program)
        return program

    def _compile(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> Program | None:
        table = self.plain.get(parent_type.name)
        if table is None:
            return None
        steps: list[tuple[str, PlainField | None, Any]] = []
        for name, details in grouped_field_set.items():
            field_name = details[0].node.name.value
            if field_name == "__typename":
                steps.append((name, None, parent_type.name))
                continue
            spec = table.get(field_name)
            if spec is None:
                return None
            sub: Program | None = None
            if spec.kind is Kind.OBJECT or spec.kind is Kind.OBJECT_LIST:
                sub = self._sub_program(spec, details)
                if sub is None:
                    return None
            steps.append((name, spec, sub))
        return tuple(steps)

    def _sub_program(self, spec: PlainField, details: Any) -> Program | None:
        """The program of an object field's selection (None if it has other fields, or a
        ``@defer``)."""
        grouped_field_set, new_defer_usages, *_ = self.collect_subfields(spec.named_type, details)
        if new_defer_usages:
            return None
        return self._program(spec.named_type, grouped_field_set)

    def _made(self, spec: PlainField, details: Any) -> _Made | None:
        """The function that builds an object field's selection (``_sub_program``), made
        once per shape of selection (``_Builders``) and found again, without collecting the
        selection, in the executions of the same document after the first."""
        key = self._selection_key(spec.named_type, details)
        if key is not None:
            found = self.builders.selections.get(key)
            if found is not None and all(
                ref() is detail.node for ref, detail in zip(found[0], details, strict=True)
            ):
                return found[1]
        program = self._sub_program(spec, details)
        made = None if program is None else self.builders.get(program)
        if key is not None:
            # Weak references: a node keeps its whole document (its text, its tokens), which
            # only the document cache, bounded in bytes, may hold; a node gone means its id
            # in the key may be another's, which the check above refuses.
            refs = tuple(weakref.ref(d.node) for d in details)
            self.builders.selections[key] = (refs, made)
        return made

    def _selection_key(self, named_type: GraphQLObjectType, details: Any) -> Hashable | None:
        """What an object field's selection is a function of: its type, its field nodes in
        the (cached, so the same objects each time) parsed document, and the variables the
        operation's ``@skip`` and ``@include`` read. None (not kept) with fragment arguments
        or ``@defer``, whose selections depend on more."""
        values = self._directive_values
        if values is None:
            names = self.builders.directive_variables(self.operation, self.fragments)
            if names is None:
                return None
            variables: Any = self.variable_values
            coerced = getattr(variables, "coerced", variables)
            values = self._directive_values = tuple(coerced.get(name) for name in names)
        for detail in details:
            if detail.fragment_variable_values is not None:
                return None
        return (named_type.name, tuple(id(d.node) for d in details), values)

    def _plan(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> Plan | None:
        """(response name, plain field or None, field details) of each selected field; None
        when the type has no plain fields."""
        key = (parent_type.name, id(grouped_field_set))
        cached = self._plans.get(key)
        if cached is not None and cached[0] is grouped_field_set:
            return cached[1]
        table = self.plain.get(parent_type.name)
        plan = None
        if table is not None:
            plan = tuple(
                (name, table.get(details[0].node.name.value), details)
                for name, details in grouped_field_set.items()
            )
        self._plans[key] = (grouped_field_set, plan)
        return plan

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        plan = self._plan(parent_type, grouped_field_set)
        if plan is None:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        results: dict[str, Any] = {}
        awaitable_names: list[str] = []
        for response_name, spec, details in plan:
            if spec is not None and spec.kind is Kind.LEAF:
                # inline fast path for leaves: no Path, no resolve info
                value = _attribute(source_value, spec.attr)
                if value is None:
                    if spec.nullable:
                        results[response_name] = None
                        continue
                elif type(value) is spec.exact and (spec.fits is None or spec.fits(value)):
                    results[response_name] = value
                    continue
                elif not (spec.resolved and isinstance(value, Unresolved)):
                    try:
                        results[response_name] = self._leaf(spec, value)
                        continue
                    except Exception:  # noqa: S110 - the normal path reports it properly
                        pass
            result = self.execute_field(
                parent_type,
                source_value,
                details,
                Path(path, response_name, parent_type.name),
                position_context,
            )
            results[response_name] = result
            if self.is_awaitable(result):
                awaitable_names.append(response_name)
        if not awaitable_names:
            return results
        return _gather_dict(results, awaitable_names)

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        table = self.plain.get(parent_type.name)
        if table is not None:
            spec = table.get(field_details_list[0].node.name.value)
            if spec is not None:
                value = _attribute(source, spec.attr)
                if value is None:
                    if spec.nullable:
                        return None
                elif not (spec.resolved and isinstance(value, Unresolved)):
                    try:
                        return self._complete(
                            spec, value, field_details_list, path, position_context
                        )
                    except Exception:  # noqa: S110 - the normal path reports it properly
                        pass
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )

    def _leaf(self, spec: PlainField, value: Any) -> Any:
        return _leaf_value(spec, value)

    def _complete(
        self, spec: PlainField, value: Any, details: Any, path: Path, position_context: Any
    ) -> Any:
        if spec.kind is Kind.LEAF:
            return self._leaf(spec, value)
        if spec.kind is Kind.LEAF_LIST:
            return [self._leaf(spec, item) for item in value]
        made = self._made(spec, details)
        build = None if made is None else made.build
        if spec.kind is Kind.OBJECT:
            done = None if build is None else _built(build, value)
            if done is not None:
                return done
            return self.collect_and_execute_subfields(
                spec.named_type, details, path, value, position_context
            )
        identity: tuple[object, ...] | None = None
        if made is not None and isinstance(value, ByIdentity):
            identity = value.identity()
            kept = self.builders.recall(made, identity)
            if kept is not None:
                return kept
        results: list[Any] = []
        pending, built_all = False, True
        for index, item in enumerate(value):
            result: Any = None
            if build is not None:
                # ``_built``, in line: a call less per row
                try:
                    result = build(item)
                except Exception:
                    result = None  # the normal path below reports it properly
            if result is None:
                result = self.collect_and_execute_subfields(
                    spec.named_type, details, path.add_key(index), item, position_context
                )
                pending = pending or self.is_awaitable(result)
                built_all = False
            results.append(result)
        if made is not None and identity is not None and built_all:
            self.builders.keep(made, identity, results)
        if not pending:
            return results
        return _gather_list(results, self.is_awaitable)


def _attribute(source: Any, attr: str) -> Any:
    """``getattr(source, attr, None)``, one attribute after the other along a dotted ``attr``
    (None from the first one missing)."""
    if "." not in attr:
        return getattr(source, attr, None)
    for name in attr.split("."):
        source = getattr(source, name, None)
    return source


def _leaf_value(spec: PlainField, value: Any) -> Any:
    """A leaf's output value, as graphql-core's completion gives it (raises as it does)."""
    if type(value) is spec.exact and (spec.fits is None or spec.fits(value)):
        return value
    if spec.names is not None:
        name = spec.names.get(value)
        if name is not None:
            return name
    return StrawberryGraphQLCoreExecutionContext.complete_leaf_value(spec.named_type, value)


#: Builds the result of a plain-only selection on one object; raises (``_Bail`` or another
#: exception) when a value is not one a plain field can take as it is: a null where the
#: schema forbids one, an ``Unresolved``, a value whose coercion fails. The caller then
#: executes that object the normal way, which reports errors with their paths.
Builder = Callable[[Any], dict[str, Any]]


def _built(build: Builder, source: Any) -> dict[str, Any] | None:
    try:
        return build(source)
    except Exception:
        return None


@dataclass(frozen=True, slots=True, eq=False)
class _Made:
    """One shape of selection made into a function."""

    build: Builder


@dataclass(slots=True, eq=False)
class _Kept:
    """A list's output, the function that built it and the objects it was built from (held,
    so that the ids in its key stay theirs); its JSON once written."""

    made: _Made
    objects: tuple[object, ...]
    results: list[Any]
    json: orjson.Fragment | None = None


class KeptList(list[Any]):
    """A kept list's output given again: a list of the same values (``result.data`` stays
    plain JSON values and UTC datetimes), whose JSON ``dumps_result`` writes once and then
    reuses, as REST reuses its items' (a repeated page's edges are most of its response)."""

    __slots__ = ("_kept",)

    def __init__(self, kept: _Kept) -> None:
        super().__init__(kept.results)
        self._kept = kept

    def json(self) -> orjson.Fragment:
        kept = self._kept
        if kept.json is None:
            # An exact-size copy: orjson returns its whole write buffer, which would be held.
            kept.json = orjson.Fragment(memoryview(dumps_result(kept.results)).tobytes())
        return kept.json


def dumps_result(value: Any) -> bytes:
    """``orjson.dumps(value)`` for an execution's result, a ``KeptList`` written from its
    stored JSON, a datetime as the wire writes one (``wire.JSON_OPTIONS``)."""
    return orjson.dumps(value, default=_subclass_json, option=_RESULT_OPTIONS)


_RESULT_OPTIONS = orjson.OPT_PASSTHROUGH_SUBCLASS | JSON_OPTIONS


def _subclass_json(value: Any) -> Any:
    """Subclasses of the JSON types, which ``OPT_PASSTHROUGH_SUBCLASS`` hands here: a
    ``KeptList`` as its JSON, any other as orjson writes it by default."""
    if isinstance(value, KeptList):
        return value.json()
    if isinstance(value, enum.Enum):
        return value.value
    # The stored value, as orjson reads it, whatever the subclass's own methods say.
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, dict):
        return dict(dict.items(value))
    if isinstance(value, list):
        return list.copy(value)
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


class _Builders:
    """Plain-only selections made into Python functions, one per shape of selection (the
    fields, their attributes and what each holds), kept for the schema's lifetime: a page
    runs one function call per row instead of a loop over field descriptions per object.
    Bounded, as clients choose the shapes.

    Also the output of ``ByIdentity`` lists built by them, by function and identities, once
    built twice (a page read once, as in a walk, is not worth keeping), bounded by the items
    kept (``kept_items``): a repeated page gives its edges again instead of building them
    row by row. The rows' dicts are shared between the responses that give them; nothing
    changes a result once built (graphql-core and ``orjson.dumps`` only read it)."""

    def __init__(self, maxsize: int = 512, kept_items: int = 2048) -> None:
        self._made: LRUCache[Hashable, _Made] = LRUCache(maxsize=maxsize)
        #: ``PlainFieldExecutor._selection_key`` -> (weak references to the field nodes it
        #: names, the function).
        self.selections: LRUCache[Hashable, tuple[tuple[weakref.ref[Any], ...], _Made | None]] = (
            LRUCache(maxsize=maxsize)
        )
        # id(operation) -> (a weak reference to the operation, the variables its directives
        # read, sorted; None when it has a @defer)
        self._directives: LRUCache[int, tuple[weakref.ref[Any], tuple[str, ...] | None]] = LRUCache(
            maxsize=maxsize
        )
        self._kept: LRUCache[tuple[int, tuple[int, ...]], _Kept] = LRUCache(
            maxsize=kept_items, getsizeof=lambda kept: max(1, len(kept.results))
        )
        #: The identities built once and not kept yet, by the same key, each held so that
        #: its ids stay its own: a list is kept when it is built the second time.
        self._seen: LRUCache[tuple[int, tuple[int, ...]], tuple[object, ...]] = LRUCache(
            maxsize=kept_items, getsizeof=lambda identity: max(1, len(identity))
        )

    def get(self, program: Program) -> _Made:
        key = _shape(program)
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = _Made(_make_builder(program))
        return made

    def directive_variables(
        self, operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDetails]
    ) -> tuple[str, ...] | None:
        """The variables the ``@skip`` and ``@include`` of ``operation`` and ``fragments``
        read, sorted; None when one of them has a ``@defer``."""
        found = self._directives.get(id(operation))
        if found is not None and found[0]() is operation:
            return found[1]
        names: set[str] = set()
        result: tuple[str, ...] | None = None
        nodes = (operation, *(fragment.definition for fragment in fragments.values()))
        if all(_directive_variables(node.selection_set, names) is not None for node in nodes):
            result = tuple(sorted(names))
        self._directives[id(operation)] = (weakref.ref(operation), result)
        return result

    def recall(self, made: _Made, identity: tuple[object, ...]) -> KeptList | None:
        """The list ``made`` built from ``identity`` before, if it is still kept."""
        kept = self._kept.get((id(made), tuple(map(id, identity))))
        if kept is None:
            return None
        return KeptList(kept)

    def keep(self, made: _Made, identity: tuple[object, ...], results: list[Any]) -> None:
        """Keep ``results`` if ``made`` built them from ``identity`` before; else remember
        that it did. A walk over new rows builds every page once: keeping each page's whole
        output (a dozen containers a row) only to evict it unread made every gen-0
        collection traverse it and promote it."""
        if len(results) > self._kept.maxsize:
            return
        key = (id(made), tuple(map(id, identity)))
        if self._seen.pop(key, None) is None:
            self._seen[key] = identity
        else:
            self._kept[key] = _Kept(made, identity, list(results))


def _directive_variables(selection_set: SelectionSetNode, names: set[str]) -> set[str] | None:
    """``names`` and the variables the directives under ``selection_set`` read; None at a
    ``@defer``."""
    for selection in selection_set.selections:
        for directive in selection.directives or ():
            if directive.name.value == "defer":
                return None
            for argument in directive.arguments or ():
                if isinstance(argument.value, VariableNode):
                    names.add(argument.value.name.value)
        inner = getattr(selection, "selection_set", None)
        if inner is not None and _directive_variables(inner, names) is None:
            return None
    return names


def _shape(program: Program) -> Hashable:
    # PlainFields live as long as the schema's executor class, so their ids are stable keys.
    return tuple(
        (name, id(spec), sub if spec is None else None if sub is None else _shape(sub))
        for name, spec, sub in program
    )


def _make_builder(program: Program) -> Builder:
    """Python source for ``program``, compiled: each field's value into a local, then the
    object as one dict display (in the selection's order); objects inlined, lists of objects
    through a function of their own. Attributes are read as attributes (a missing one raises,
    and the object goes the normal way) and keys are literals."""
    constants: dict[str, Any] = {
        "_Bail": _Bail,
        "_Unresolved": Unresolved,
        "_Undefined": Undefined,
        "_leaf": _leaf_value,
    }
    counter = itertools.count()

    def constant(value: Any) -> str:
        name = f"_c{len(constants)}"
        constants[name] = value
        return name

    def exact_check(spec: PlainField, value: str) -> str:
        """The test that ``value`` is already in its output form (``PlainField.exact``)."""
        check = f"type({value}) is {constant(spec.exact)}"
        if spec.fits is _is_int32:
            check += f" and {GRAPHQL_MIN_INT} <= {value} <= {GRAPHQL_MAX_INT}"
        elif spec.fits is not None:
            check += f" and {constant(spec.fits)}({value})"
        return check

    def attribute(src: str, attr: str) -> str:
        if attr.isidentifier() and not keyword.iskeyword(attr):
            return f"{src}.{attr}"
        return f"getattr({src}, {attr!r})"

    #: (object's local, dotted prefix) -> the local that holds what the prefix reads.
    hoisted: dict[tuple[str, str], str] = {}

    def read(src: str, attr: str, pad: str, lines: list[str]) -> str:
        """The expression reading ``attr`` of ``src``; along a dotted ``attr``, the objects
        on the way are read once per object (into a local) for all the fields under them."""
        *way, last = attr.split(".")
        for depth in range(len(way)):
            prefix = ".".join(way[: depth + 1])
            key = (src, prefix)
            if key not in hoisted:
                parent = src if depth == 0 else hoisted[(src, ".".join(way[:depth]))]
                hoisted[key] = f"v{next(counter)}"
                lines.append(f"{pad}{hoisted[key]} = {attribute(parent, way[depth])}")
        return attribute(hoisted[(src, ".".join(way))] if way else src, last)

    def emit(program: Program, src: str, pad: str, lines: list[str]) -> str:
        """Lines that set one local per field of ``program`` on ``src``; returns the dict
        display of the object."""
        entries: list[str] = []
        for name, spec, sub in program:
            if spec is None:
                entries.append(f"{name!r}: {sub!r}")
                continue
            local = f"f{next(counter)}"
            entries.append(f"{name!r}: {local}")
            lines.append(f"{pad}{local} = {read(src, spec.attr, pad, lines)}")
            if spec.kind is Kind.LEAF and spec.exact is not None and spec.names is None:
                # The usual value, already in its output form, is tested first and alone.
                lines.append(f"{pad}if not ({exact_check(spec, local)}):")
                inner = pad + "    "
                lines.append(f"{inner}if {local} is None:")
                lines.append(f"{inner}    pass" if spec.nullable else f"{inner}    raise _Bail")
                if spec.resolved:
                    lines.append(f"{inner}elif isinstance({local}, _Unresolved):")
                    lines.append(f"{inner}    raise _Bail")
                lines.append(f"{inner}else:")
                lines.append(f"{inner}    {local} = _leaf({constant(spec)}, {local})")
                continue
            lines.append(f"{pad}if {local} is None:")
            lines.append(f"{pad}    pass" if spec.nullable else f"{pad}    raise _Bail")
            if spec.resolved:
                lines.append(f"{pad}elif isinstance({local}, _Unresolved):")
                lines.append(f"{pad}    raise _Bail")
            if spec.kind is Kind.LEAF:
                if spec.names is not None:
                    names = constant(spec.names)
                    lines.append(f"{pad}elif {local} in {names}:")
                    lines.append(f"{pad}    {local} = {names}[{local}]")
                lines.append(f"{pad}else:")
                if spec.exact is None and spec.names is None:
                    # a custom scalar: its serializer, refused as graphql-core refuses it
                    serialize = constant(spec.named_type.serialize)
                    lines.append(f"{pad}    {local} = {serialize}({local})")
                    lines.append(f"{pad}    if {local} is None or {local} is _Undefined:")
                    lines.append(f"{pad}        raise _Bail")
                else:
                    lines.append(f"{pad}    {local} = _leaf({constant(spec)}, {local})")
                continue
            lines.append(f"{pad}else:")
            if spec.kind is Kind.LEAF_LIST:
                # each item as ``_leaf_value`` gives it, in a comprehension (no call a list)
                leaf = constant(spec)
                if spec.exact is not None:
                    item_value = f"x if {exact_check(spec, 'x')} else _leaf({leaf}, x)"
                elif spec.names is not None:
                    names = constant(spec.names)
                    item_value = f"{names}[x] if x in {names} else _leaf({leaf}, x)"
                else:
                    item_value = f"_leaf({leaf}, x)"
                lines.append(f"{pad}    {local} = [{item_value} for x in {local}]")
            elif spec.kind is Kind.OBJECT_LIST:
                item = constant(_make_builder(sub))
                lines.append(f"{pad}    {local} = [{item}(i) for i in {local}]")
            else:
                inner = f"s{next(counter)}"
                lines.append(f"{pad}    {inner} = {local}")
                display = emit(sub, inner, pad + "    ", lines)
                lines.append(f"{pad}    {local} = {display}")
        return "{" + ", ".join(entries) + "}"

    lines = ["def build(s0):"]
    display = emit(program, "s0", "    ", lines)
    lines.append(f"    return {display}")
    namespace = dict(constants)
    exec(compile("\n".join(lines), "<plain selection>", "exec"), namespace)  # noqa: S102
    build: Builder = namespace["build"]
    return build


async def _gather_dict(results: dict[str, Any], names: list[str]) -> dict[str, Any]:
    done = await asyncio.gather(*(results[name] for name in names))
    results.update(zip(names, done, strict=True))
    return results


async def _gather_list(results: list[Any], is_awaitable: Any) -> list[Any]:
    pending = [(i, r) for i, r in enumerate(results) if is_awaitable(r)]
    done = await asyncio.gather(*(r for _, r in pending))
    for (i, _), value in zip(pending, done, strict=True):
        results[i] = value
    return results


def executor_class() -> type[PlainFieldExecutor]:
    """A fresh executor class for one schema, to ``prepare`` once that schema is built."""
    return type("GatewayExecutor", (PlainFieldExecutor,), {})


def refuse_field_hooks(schema: strawberry.Schema) -> None:
    """Raise ``FieldHookError`` when graphql-core would get middleware for ``schema``.

    Strawberry turns every schema extension that overrides ``SchemaExtension.resolve`` into
    middleware around each resolver, its own ``DirectivesExtension`` (added when the schema
    has custom directives) included; plain fields have no resolver call to wrap, so the hook
    would run for some fields and silently not for others."""
    hooked = [
        type(extension).__name__
        for extension in schema.get_extensions()
        if type(extension).resolve is not SchemaExtension.resolve
    ]
    if hooked:
        raise FieldHookError(
            f"schema extension(s) {', '.join(hooked)} implement resolve(), which the "
            "plain-field executor skips for plain fields; build the schema with fast=False "
            "or drop the hook"
        )


def plain_fields(schema: strawberry.Schema) -> dict[str, dict[str, PlainField]]:
    """Every resolver-less field of every object type, and every field whose metadata names
    its attribute (``plain``) or path (``plain_path``), by GraphQL type and field name."""
    table: dict[str, dict[str, PlainField]] = {}
    for name, graphql_type in schema._schema.type_map.items():
        if name.startswith("__") or not isinstance(graphql_type, GraphQLObjectType):
            continue
        definition = schema.get_type_by_name(name)
        if not isinstance(definition, StrawberryObjectDefinition):
            continue
        fields: dict[str, PlainField] = {}
        for field in definition.fields:
            metadata: Mapping[str, Any] = field.metadata or {}
            attr, path = metadata.get(PLAIN_ATTR), metadata.get(PLAIN_PATH)
            if field.extensions or field.permission_classes:
                continue
            if field.base_resolver is not None and attr is None and path is None:
                continue
            graphql_name = schema.config.name_converter.get_graphql_name(field)
            graphql_field = graphql_type.fields.get(graphql_name)
            if graphql_field is None:
                continue  # private attributes are not part of the schema
            spec = _classify(attr or path or field.python_name, graphql_field.type)
            if spec is not None:
                if attr is not None:
                    spec = replace(spec, resolved=True)
                fields[graphql_name] = spec
        if fields:
            table[name] = fields
    return table


def _classify(attr: str, field_type: GraphQLOutputType) -> PlainField | None:
    nullable = not is_non_null_type(field_type)
    inner = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
    if is_leaf_type(inner):
        return PlainField(attr, Kind.LEAF, inner, nullable, *_leaf_shortcuts(inner))
    if is_object_type(inner):
        return PlainField(attr, Kind.OBJECT, inner, nullable)
    if is_list_type(inner):
        assert isinstance(inner, GraphQLList)
        item = inner.of_type
        if not isinstance(item, GraphQLNonNull):
            return None  # nullable items: leave them to the normal path
        if is_leaf_type(item.of_type):
            return PlainField(
                attr, Kind.LEAF_LIST, item.of_type, nullable, *_leaf_shortcuts(item.of_type)
            )
        if is_object_type(item.of_type):
            return PlainField(attr, Kind.OBJECT_LIST, item.of_type, nullable)
    return None


def _is_int32(value: int) -> bool:
    return GRAPHQL_MIN_INT <= value <= GRAPHQL_MAX_INT


def _in_utc(value: datetime) -> bool:
    return value.tzinfo is UTC


#: Leaves taken as they are, by their scalar's name, when of exactly this Python type and
#: ``fits`` (if any) accepts the value. A UTC ``datetime`` stays one in the result: it is
#: already the instant that ``DateTime`` serializes (``wire.format_time``), and
#: ``dumps_result`` writes it exactly as that would, in C, where formatting it into a
#: string first cost about 1 us a value (three a row) on rows never seen before.
_EXACT_TYPES: Mapping[str, tuple[type, Callable[[Any], bool] | None]] = {
    "String": (str, None),
    "ID": (str, None),
    "Int": (int, _is_int32),
    "Float": (float, math.isfinite),
    "Boolean": (bool, None),
    "DateTime": (datetime, _in_utc),
}


def _leaf_shortcuts(
    leaf: Any,
) -> tuple[type | None, Callable[[Any], bool] | None, Mapping[Any, str] | None]:
    """(exact Python type, its range check, enum names) that let a leaf skip graphql-core's
    coercion."""
    if isinstance(leaf, GraphQLEnumType):
        return None, None, {value.value: name for name, value in leaf.values.items()}
    exact, fits = _EXACT_TYPES.get(leaf.name, (None, None))
    return exact, fits, None
