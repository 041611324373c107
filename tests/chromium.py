"""The system Chromium and chromedriver the browser tests drive (never a downloaded browser).

TONECHECK_CHROMIUM / TONECHECK_CHROMEDRIVER override the paths; None when absent (the tests skip
with the reason: apt-get install -y chromium chromium-driver).
"""
from __future__ import annotations

import os
import shutil


def _find(*names: str) -> str | None:
    for n in names:
        p = shutil.which(n)
        if p:
            return p
    return None


CHROMIUM = os.environ.get("TONECHECK_CHROMIUM") or _find("chromium", "chromium-browser", "google-chrome")
CHROMEDRIVER = os.environ.get("TONECHECK_CHROMEDRIVER") or _find("chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage")
SKIP_REASON = ("no system Chromium (apt-get install -y chromium chromium-driver)" if CHROMIUM is None else
               "no chromedriver (apt-get install -y chromium-driver)" if CHROMEDRIVER is None else "")


def chrome(profile_dir, width: int = 1100, height: int = 900):
    """A headless Chromium session (Selenium) with its own profile directory."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in (*FLAGS, f"--user-data-dir={profile_dir}", f"--window-size={width},{height}"):
        opts.add_argument(arg)
    d = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    d.set_page_load_timeout(30)
    return d
