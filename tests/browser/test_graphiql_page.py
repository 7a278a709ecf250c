"""GraphiQL in a real browser: the page renders from local assets, and the pre-filled query
runs on the first click and shows rows."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from gateway.sandbox.suite import DEMO_PROJECT_ID

pytestmark = pytest.mark.browser

TIMEOUT_MS = 30_000


def test_the_first_click_on_graphiql_shows_rows(demo_url: str, page: Page) -> None:
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto(f"{demo_url}/graphql")
    # given the rendered editor, pre-filled with the demo project and key
    run = page.locator(".graphiql-execute-button")
    expect(run).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator(".graphiql-query-editor")).to_contain_text("query FirstAdSets")
    # when the query is run once
    run.click()
    # then the result pane shows ad sets
    result = page.locator(".graphiql-response")
    expect(result).to_contain_text('"edges"', timeout=TIMEOUT_MS)
    expect(result).to_contain_text('"id": "adg_')
    expect(result).not_to_contain_text('"errors"')
    assert failed == []


def test_graphiql_prefills_variables_and_headers(demo_url: str, page: Page) -> None:
    page.goto(f"{demo_url}/graphql")
    expect(page.locator(".graphiql-execute-button")).to_be_visible(timeout=TIMEOUT_MS)
    page.get_by_text("Variables", exact=True).click()
    editor = page.locator(".graphiql-editor-tool .graphiql-editor:visible")
    expect(editor).to_contain_text(DEMO_PROJECT_ID)
    page.get_by_text("Headers", exact=True).click()
    expect(page.locator(".graphiql-editor-tool .graphiql-editor:visible")).to_contain_text(
        "Bearer lp_test_"
    )
