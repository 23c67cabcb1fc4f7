"""Lighthouse accessibility of the console (goal >= 0.95 on every screen), measured in headless Chromium:
the sign-in page as a navigation, then each screen of a signed-in supervisor as a snapshot (a navigation
would open a new tab, which has no sessionStorage and so no sign-in), dialogs and the photo viewer open.

Runs Lighthouse through `npx --yes lighthouse` (as bench/pwa.py does) and drives it from Node with the
puppeteer-core that comes with it. Opt-in, as it takes minutes: SAFEGRID_LIGHTHOUSE=1.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import CHROMIUM, LiveServer
from test_console import manual_finding, public_report

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(os.environ.get("SAFEGRID_LIGHTHOUSE") != "1", reason="set SAFEGRID_LIGHTHOUSE=1"),
]

GOAL = 0.95

SCRIPT = r"""
import { pathToFileURL } from 'node:url';
const { modules, base, user, pass, screens } = JSON.parse(process.argv[1]);
const lighthouse = await import(pathToFileURL(`${modules}/lighthouse/core/index.js`));
const pptr = `${modules}/puppeteer-core/lib/esm/puppeteer/puppeteer-core.js`;
const puppeteer = (await import(pathToFileURL(pptr))).default;
const browser = await puppeteer.launch({
  executablePath: process.env.CHROME_PATH, headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const out = {};
const summary = (lhr) => ({
  score: lhr.categories.accessibility.score,
  failed: Object.values(lhr.audits).filter((a) => a.score === 0).map((a) => a.id),
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  const config = {
    extends: 'lighthouse:default',
    settings: {
      onlyCategories: ['accessibility'], formFactor: 'desktop', screenEmulation: { disabled: true },
    },
  };
  out.signin = summary((await lighthouse.navigation(page, `${base}/console/`, { config })).lhr);
  await page.waitForSelector('#login-username');
  await page.type('#login-username', user);
  await page.type('#login-password', pass);
  await page.click('form.login button[type=submit]');
  await page.waitForSelector('[data-testid=queue]');
  for (const [name, hash, ready, click, opened] of screens) {
    await page.evaluate((h) => { location.hash = h; }, hash);
    await page.waitForSelector(ready);
    if (click) {
      await page.click(click);
      await page.waitForSelector(opened);
    }
    out[name] = summary((await lighthouse.snapshot(page, { config })).lhr);
    if (click) await page.keyboard.press('Escape');
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
"""


def _lighthouse_modules() -> str:
    npx = shutil.which("npx")
    if not npx:
        pytest.fail("npx (Node.js) is required for the Lighthouse measurement")
    subprocess.run([npx, "--yes", "lighthouse", "--version"], check=True, capture_output=True, timeout=600)
    found = sorted(glob.glob(str(Path.home() / ".npm/_npx/*/node_modules/lighthouse/package.json")))
    assert found, "lighthouse is not in the npx cache"
    return str(Path(found[-1]).parents[1])


def test_every_console_screen_scores_at_least_095(live_server: LiveServer) -> None:
    report = public_report(
        live_server, "楼道里给电动车充电（无障碍检查）", "白云村一组12号", 31.40412, 109.63321
    )
    major = manual_finding(live_server, "液化气钢瓶放在大厅（无障碍检查）", "major")
    screens: list[list[Any]] = [
        ["home", "#/", "[data-testid=queue]", None, None],
        ["reports", "#/reports", "[data-testid=report-row]", None, None],
        ["report", f"#/report/{report['id']}", "[data-testid=triage-form]", None, None],
        [
            "photo viewer",
            f"#/report/{report['id']}",
            "[data-testid=thumb] img",
            "[data-testid=thumb]",
            "[data-testid=lightbox-image][src]",
        ],
        ["findings", "#/findings", "[data-testid=finding-row]", None, None],
        ["finding", f"#/finding/{major['id']}", "[data-testid=events]", None, None],
        [
            "major decision",
            f"#/finding/{major['id']}",
            "[data-testid=act-major]",
            "[data-testid=act-major]",
            "[data-testid=major-dialog]",
        ],
        [
            "extension dialog",
            f"#/finding/{major['id']}",
            "[data-testid=act-extend]",
            "[data-testid=act-extend]",
            "[data-testid=extension-dialog]",
        ],
        ["major register", "#/major", "[data-testid=major-row]", None, None],
        ["figures", "#/stats", "[data-testid=charts]", None, None],
    ]
    arg = json.dumps(
        {
            "modules": _lighthouse_modules(),
            "base": live_server.url,
            "user": "supervisor",
            "pass": live_server.password,
            "screens": screens,
        }
    )
    r = subprocess.run(
        ["node", "--input-type=module", "-e", SCRIPT, arg],
        env={**os.environ, "CHROME_PATH": CHROMIUM},
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    scores = json.loads(r.stdout.strip().splitlines()[-1])
    print(json.dumps(scores, ensure_ascii=False))
    assert len(scores) == len(screens) + 1
    below = {k: v for k, v in scores.items() if v["score"] < GOAL}
    assert not below, below
