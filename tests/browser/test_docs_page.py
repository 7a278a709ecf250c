"""The REST docs page in a real browser: Swagger UI renders the list operation with its
parameters, and "Try it out" on it returns rows from the demo project."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from gateway.sandbox.suite import DEMO_PROJECT_ID

pytestmark = pytest.mark.browser

TIMEOUT_MS = 30_000
OPERATION = "[id^=operations-][id$=-listAdSets]"


def test_docs_page_renders_the_list_operation(demo_url: str, page: Page) -> None:
    page.goto(f"{demo_url}/docs")
    operation = page.locator(OPERATION)
    expect(operation).to_be_visible(timeout=TIMEOUT_MS)
    expect(operation).to_contain_text("/v1/projects/{projectId}/ads/adsets")
    operation.locator(".opblock-summary").click()
    for name in ("projectId", "campaignId", "platforms", "status", "cursor", "limit"):
        expect(operation.locator(f'tr[data-param-name="{name}"]')).to_be_visible()


def test_try_it_out_lists_rows(demo_url: str, page: Page) -> None:
    page.goto(f"{demo_url}/docs")
    operation = page.locator(OPERATION)
    expect(operation).to_be_visible(timeout=TIMEOUT_MS)
    operation.locator(".opblock-summary").click()
    operation.locator(".try-out__btn").click()
    operation.locator('tr[data-param-name="projectId"] input').fill(DEMO_PROJECT_ID)
    operation.locator('tr[data-param-name="limit"] input').fill("3")
    operation.locator(".execute").click()
    responses = operation.locator(".live-responses-table")
    expect(responses.locator("tbody .response-col_status").first).to_have_text(
        "200", timeout=TIMEOUT_MS
    )
    body = responses.locator("tbody .response-col_description pre").first
    expect(body).to_contain_text('"adsetId": "adg_')
    expect(body).to_contain_text('"nextCursor"')
