"""An automated accessibility check in the real browser: axe-core (vendored in ``vendor/``) run on the page a test
has open, against the WCAG 2.0/2.1 A and AA rules."""

from pathlib import Path
from typing import Any

from selenium import webdriver

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
RUN = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']})
  .then(results => done({violations: results.violations, passes: results.passes.length}))
  .catch(error => done({error: String(error)}));
"""


def axe_violations(
    browser: webdriver.Chrome, impacts: tuple[str, ...] = ("serious", "critical")
) -> list[str]:
    """The violations of ``impacts`` on the open page, one line each (rule, impact, the elements it names).
    Raises if axe did not run, or ran no check at all: an empty answer must mean a clean page."""
    browser.execute_script(AXE)  # WebDriver's script runs beside the page's CSP, which forbids inline scripts
    browser.set_script_timeout(60)
    outcome: dict[str, Any] = browser.execute_async_script(RUN, WCAG_AA)
    if "error" in outcome:
        raise AssertionError(f"axe-core did not run: {outcome['error']}")
    assert outcome["passes"] > 0, "axe-core checked nothing on this page"
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in outcome["violations"]
        if v["impact"] in impacts
    ]
