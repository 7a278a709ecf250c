"""Optional OpenTelemetry spans: one per request, one per upstream call.

The ``otel`` extra (``pip install .[otel]``) brings the API and SDK. Without a tracer provider
the gateway makes no span and imports nothing of OpenTelemetry, so the default install pays
nothing for it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer, TracerProvider

TRACER_NAME = "adset-gateway"

AttributeValue = str | int | float | bool


class Tracing:
    """Starts spans when a tracer provider was given, else does nothing."""

    def __init__(self, provider: TracerProvider | None = None) -> None:
        self._tracer: Tracer | None = None
        if provider is not None:
            self._tracer = provider.get_tracer(TRACER_NAME)

    @property
    def enabled(self) -> bool:
        return self._tracer is not None

    @contextlib.contextmanager
    def span(
        self, name: str, kind: str, attributes: Mapping[str, AttributeValue]
    ) -> Iterator[Span | None]:
        """A span (``kind``: "server" or "client") around the block, current while it runs
        so that upstream calls nest under their request; an exception marks it as an error."""
        if self._tracer is None:
            yield None
            return
        from opentelemetry.trace import SpanKind

        span_kind = SpanKind.SERVER if kind == "server" else SpanKind.CLIENT
        with self._tracer.start_as_current_span(
            name, kind=span_kind, attributes=dict(attributes)
        ) as span:
            yield span


def set_attributes(span: Any, attributes: Mapping[str, AttributeValue | None]) -> None:
    """Add the attributes that have a value to ``span`` (a no-op without one)."""
    if span is None:
        return
    for name, value in attributes.items():
        if value is not None:
            span.set_attribute(name, value)


def sdk_provider() -> TracerProvider:
    """An SDK tracer provider for ``gateway serve --tracing``: spans go to an OTLP collector
    when the OTLP exporter is installed (configured by the standard ``OTEL_EXPORTER_OTLP_*``
    variables), else to stderr as JSON."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SpanExporter,
    )

    exporter: SpanExporter
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[import-not-found,unused-ignore]
            OTLPSpanExporter,
        )

        exporter = OTLPSpanExporter()
    except ImportError:
        exporter = ConsoleSpanExporter()
    provider = SdkTracerProvider(resource=Resource.create({"service.name": TRACER_NAME}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider
