"""The ZenML 0.66.0 dashboard, served by Zenyard, used as a new user would:
log in, answer the first-login survey, browse the pipelines, open a run's
graph, a step's logs and an artifact's visualization, the stacks, log out.

Each step asserts on what the page shows and leaves a screenshot in
test-output/browser/; the API calls the dashboard made are recorded there
too (api-calls.json). No answer may be a 5xx, and nothing may leave
127.0.0.1 but the two kinds of images the dashboard links from elsewhere.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.compat

#: Hosts the dashboard links images from (user avatars, flavor logos); the
#: browser is kept from reaching them. Anything else (an analytics host)
#: would mean the dashboard thinks it may report usage.
IMAGE_HOSTS = {"avatar.vercel.sh", "public-flavor-logos.s3.eu-central-1.amazonaws.com"}


def answered(traffic, method: str, path_pattern: str) -> list[int]:
    """The statuses of the recorded calls `method path` (path a regex)."""
    pattern = re.compile(path_pattern)
    return [c["status"] for c in traffic.api_calls if c["method"] == method and pattern.fullmatch(c["path"])]


def test_a_new_user_walks_through_the_dashboard(browser, seeded_run, api):
    page, base = browser.page, browser.base_url
    server_id = api.get(base + "/api/v1/info").json()["id"]

    # --- log in -------------------------------------------------------------
    page.goto(base + "/")
    expect(page).to_have_url(re.compile(r"/login\b"))
    expect(page.get_by_text("Log in to your account")).to_be_visible()
    browser.screenshot("01-login")
    page.get_by_label("Username").fill("default")
    page.get_by_role("button", name="Login").click()

    # --- the first-login survey ------------------------------------------------
    expect(page).to_have_url(re.compile(r"/survey\b"))
    expect(page.get_by_text("Add your account details")).to_be_visible()
    session = [c for c in browser.context.cookies() if c["name"] == f"zenml-server-{server_id}"]
    assert session and session[0]["httpOnly"] and session[0]["sameSite"] == "Lax", browser.context.cookies()
    page.get_by_label("Full Name (optional)").fill("Ada Lovelace")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("I want to receive news and recommendations about how to use ZenML").uncheck()
    browser.screenshot("02-survey")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("What will be your primary use for ZenML?")).to_be_visible()
    page.get_by_text("Personal", exact=True).click()
    page.get_by_role("button", name="Continue").click()
    page.get_by_text("I'm new to MLOps and exploring").click()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("What is your current infrastructure?")).to_be_visible()
    page.get_by_role("button", name="Skip this step").click()
    expect(page.get_by_text("Join The ZenML Slack Community")).to_be_visible()
    page.get_by_role("button", name="Skip this step").click()
    expect(page.get_by_text("Congratulations!")).to_be_visible()
    browser.screenshot("03-survey-done")
    page.get_by_text("Go to Dashboard").click()

    expect(page).to_have_url(re.compile(r"/onboarding\b"))
    expect(page.get_by_text("Welcome to ZenML")).to_be_visible()
    expect(page.get_by_text("Run your first pipeline")).to_be_visible()
    page.get_by_text("Fresh Look, Enhanced Experience!").wait_for()
    page.get_by_role("button", name="Skip", exact=True).click()
    expect(page.get_by_text("Fresh Look, Enhanced Experience!")).to_be_hidden()

    me = api.get(base + "/api/v1/current-user", params={"hydrate": "true"}).json()
    assert me["body"]["full_name"] == "Ada Lovelace" and me["body"]["email_opted_in"] is False, me
    answers = me["metadata"]["user_metadata"]
    assert answers["finished_onboarding_survey"] is True and answers["primary_use"] == "personal", answers
    assert answers["overview_tour_done"] is True, answers

    # --- the pipelines list: the survey and the tour do not come back -------
    page.goto(base + "/pipelines")
    page.reload()
    expect(page).to_have_url(re.compile(r"/pipelines\b"))
    pipeline_link = page.get_by_text(seeded_run.pipeline, exact=True)
    expect(pipeline_link).to_be_visible()
    expect(page.get_by_text(seeded_run.id[:8])).to_be_visible()  # its latest run
    expect(page.get_by_text("Fresh Look, Enhanced Experience!")).to_have_count(0)
    browser.screenshot("04-pipelines")

    page.get_by_role("tab", name="Runs").click()
    run_row = page.get_by_role("row").filter(has=page.get_by_text(seeded_run.name, exact=True))
    expect(run_row.get_by_text(seeded_run.pipeline, exact=True)).to_be_visible()
    expect(run_row.get_by_text("Ada Lovelace")).to_be_visible()  # the author, by the name the survey gave
    browser.screenshot("05-all-runs")
    page.get_by_role("tab", name="Pipelines").click()

    page.get_by_text(seeded_run.pipeline, exact=True).click()
    expect(page).to_have_url(re.compile(rf"/pipelines/{seeded_run.pipeline}\b"))
    run_link = page.get_by_text(seeded_run.name, exact=True)
    expect(run_link).to_be_visible()
    browser.screenshot("06-pipeline-runs")

    # --- the run page: its graph ----------------------------------------------
    run_link.click()
    expect(page).to_have_url(re.compile(rf"/runs/{seeded_run.id}\b"))
    graph = page.locator(".react-flow")

    def node(name):
        return graph.locator(".react-flow__node").filter(has=page.get_by_text(name, exact=True))

    for name in ("load_data", "dataset", "train", "accuracy", "report"):
        expect(node(name)).to_be_visible()
    expect(graph.locator(".react-flow__node-step")).to_have_count(2)
    expect(graph.locator(".react-flow__node-artifact")).to_have_count(3)
    expect(graph.locator(".react-flow__edge")).to_have_count(4)
    details = page.get_by_text("Details").locator("xpath=ancestor::*[contains(., 'Status')][1]")
    expect(details.get_by_text("completed", exact=True)).to_be_visible()
    expect(page.get_by_text(seeded_run.name).first).to_be_visible()
    browser.screenshot("07-run-page")

    # --- a step and its logs ---------------------------------------------------
    node("train").get_by_role("button").click()
    step_panel = page.get_by_role("dialog")
    expect(step_panel.get_by_role("definition").filter(has_text=seeded_run.steps["train"]["id"])).to_be_visible()
    expect(step_panel.get_by_role("heading", name="train")).to_be_visible()
    expect(step_panel.get_by_text("completed", exact=True).first).to_be_visible()
    step_panel.get_by_role("tab", name="Logs").click()
    expect(step_panel.get_by_text(f"training {seeded_run.marker} on 3 rows")).to_be_visible()
    browser.screenshot("08-step-logs")
    page.keyboard.press("Escape")
    expect(step_panel).to_be_hidden()

    # --- an artifact and its visualization ----------------------------------------
    node("report").get_by_role("button").click()
    artifact_panel = page.get_by_role("dialog")
    expect(artifact_panel.get_by_text(seeded_run.artifacts["report"], exact=True)).to_be_visible()
    artifact_panel.get_by_role("tab", name="Visualization").click()
    artifact_panel.get_by_role("button", name="Load Preview").click()
    expect(artifact_panel.get_by_role("heading", name="Training report")).to_be_visible()
    browser.screenshot("09-artifact-visualization")
    page.keyboard.press("Escape")
    expect(artifact_panel).to_be_hidden()

    # --- the stacks ------------------------------------------------------------------
    page.get_by_role("link", name="Stacks").first.click()
    expect(page).to_have_url(re.compile(r"/stacks\b"))
    expect(page.get_by_role("heading", name="Stacks")).to_be_visible()
    expect(page.get_by_text("default", exact=True).last).to_be_visible()
    browser.screenshot("10-stacks")
    page.get_by_role("row").filter(has=page.get_by_text("default", exact=True)).get_by_text("default", exact=True).click()
    stack_panel = page.get_by_role("dialog")
    expect(stack_panel.get_by_text("Artifact Store")).to_be_visible()
    expect(stack_panel.get_by_text("Orchestrator")).to_be_visible()
    browser.screenshot("11-stack-components")
    page.keyboard.press("Escape")
    expect(stack_panel).to_be_hidden()

    # --- log out ---------------------------------------------------------------------
    page.locator("header").get_by_role("button", name="A", exact=True).click()
    page.get_by_role("menuitem", name="Logout").click()
    expect(page).to_have_url(re.compile(r"/login\b"))
    expect(page.get_by_text("Log in to your account")).to_be_visible()
    browser.screenshot("12-logged-out")
    assert not [c for c in browser.context.cookies() if c["name"].startswith("zenml-server-")]
    assert page.request.get(base + "/api/v1/current-user").status == 401

    # --- what the dashboard asked the API for ---------------------------------------------
    traffic = browser.traffic
    assert not traffic.with_status(500, 599), traffic.with_status(500, 599)
    assert answered(traffic, "POST", "/api/v1/login") == [200]
    assert set(answered(traffic, "PUT", "/api/v1/current-user")) == {200}
    assert 200 in answered(traffic, "GET", r"/api/v1/pipelines\?.*sort_by=desc%3Alatest_run.*")
    assert 200 in answered(traffic, "GET", r"/api/v1/runs\?.*sort_by=desc%3Aupdated.*")
    assert 200 in answered(traffic, "GET", rf"/api/v1/runs\?pipeline_name={seeded_run.pipeline}&.*sort_by=desc%3Aupdated.*")
    assert 200 in answered(traffic, "GET", rf"/api/v1/runs/{seeded_run.id}/graph")
    assert 200 in answered(traffic, "GET", rf"/api/v1/steps/{seeded_run.steps['train']['id']}/logs")
    assert 200 in answered(traffic, "GET", rf"/api/v1/artifact_versions/{seeded_run.artifacts['report']}/visualize.*")
    assert answered(traffic, "GET", "/api/v1/logout") == [200]
    assert traffic.blocked_hosts() <= IMAGE_HOSTS, traffic.blocked
    assert not traffic.failed_files, traffic.failed_files
    assert not traffic.page_errors, traffic.page_errors


def test_the_run_graph_is_the_one_zenml_draws(seeded_run, api, dashboard_server):
    """Zenyard's `/runs/{id}/graph` equals ZenML's own `LineageGraph` of the run."""
    ours = api.get(f"{dashboard_server.url}/api/v1/runs/{seeded_run.id}/graph")
    assert ours.status_code == 200, ours.text
    assert ours.json() == seeded_run.graph
    names = sorted(node["data"]["name"] for node in ours.json()["nodes"])
    assert names == ["accuracy", "dataset", "load_data", "report", "train"]
