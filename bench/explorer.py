"""How long the participants explorer takes to load, index and show a large file in
headless Chromium: the page's own figure (fetch, parse, index, first list, in ms), when
its WebCrypto check of the detached signature finished, and the time a search takes to
redraw the list. Prints figures, asserts nothing.

Usage: python bench/explorer.py BASE_URL [RUNS]   (a local server; Selenium, Chromium)
"""

import shutil
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

base = sys.argv[1].rstrip("/")
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
options = webdriver.ChromeOptions()
options.binary_location = shutil.which("chromium")
for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
    options.add_argument(arg)
driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
try:
    for run in range(runs):
        driver.get(f"{base}/?run={run}")
        ready = WebDriverWait(driver, 60).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
        count = driver.find_element(By.ID, "count").text
        verified = WebDriverWait(driver, 120).until(lambda d: d.find_element(By.ID, "signature").get_attribute("data-verified"))
        verified_at = driver.execute_script("return performance.now()")
        started = time.perf_counter()
        driver.execute_script(
            "const q = document.getElementById('q'); q.value = 'bank'; "
            "document.getElementById('filters').dispatchEvent(new Event('input'));"
        )
        searched = driver.find_element(By.ID, "count").text
        search_ms = (time.perf_counter() - started) * 1000
        print(
            f"explorer run {run + 1}: loaded, indexed and listed in {ready} ms ({count}); "
            f"signature {'verified' if verified == 'true' else 'NOT verified'} by {verified_at:.0f} ms after navigation; "
            f"search redraw {search_ms:.0f} ms ({searched})"
        )
finally:
    driver.quit()
