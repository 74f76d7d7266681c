"""The participants explorer in a real headless Chromium, driven by Selenium.

Usage: python explorer_test.py BASE_URL CHROMIUM CHROMEDRIVER DATA_DIR
BASE_URL is a local server with the demo data, serving from DATA_DIR. Prints one line per check, then
"browser: N passed, N failed".
"""

import json
import subprocess
import sys
import unicodedata
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

base = sys.argv[1].rstrip("/")
participants = json.load(urllib.request.urlopen(f"{base}/participants"))

options = webdriver.ChromeOptions()
options.binary_location = sys.argv[2] if len(sys.argv) > 2 else "/usr/bin/chromium"
for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
    options.add_argument(arg)
options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
driver = webdriver.Chrome(service=Service(sys.argv[3] if len(sys.argv) > 3 else "/usr/bin/chromedriver"), options=options)
wait = WebDriverWait(driver, 20)
results = []


def check(name, fn):
    try:
        fn()
        results.append(True)
        print(f"ok   {name}")
    except Exception as e:  # a failed check is reported, the others still run
        results.append(False)
        print(f"FAIL {name}: {type(e).__name__}: {e}")


def load(url):
    driver.get(url)
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))


def count_text():
    return driver.find_element(By.ID, "count").text


def listed_names():
    return [a.text.split("\n")[0] for a in driver.find_elements(By.CSS_SELECTOR, "#results a")]


def fold(text):
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)).lower()


def page_loads_every_organisation():
    load(f"{base}/")
    assert count_text() == f"{len(participants)} of {len(participants)} organisations", count_text()


def search_ignores_accents_and_case():
    accented = next(o["OrganisationName"] for o in participants if fold(o["OrganisationName"]) != o["OrganisationName"].lower())
    typed = fold(accented).upper()
    box = driver.find_element(By.ID, "q")
    box.clear()
    box.send_keys(typed)
    wait.until(lambda d: accented in listed_names())
    assert all(fold(typed) in fold(" ".join([o.get("OrganisationName", ""), o.get("LegalEntityName", ""), o.get("RegisteredName", ""), o.get("RegistrationNumber", "")])) for o in participants if o["OrganisationName"] in listed_names())
    box.clear()
    driver.execute_script("document.getElementById('filters').dispatchEvent(new Event('input'))")
    wait.until(lambda d: count_text().startswith(f"{len(participants)} of "))


def role_filter_narrows_to_the_expected_count():
    select = Select(driver.find_element(By.ID, "role"))
    roles = [o.get_attribute("value") for o in select.options if o.get_attribute("value")]
    assert roles, "no roles offered"
    for role in roles:
        expected = sum(1 for o in participants if any(c.get("Role") == role for c in o.get("OrgDomainRoleClaims", [])))
        select.select_by_value(role)
        try:
            wait.until(lambda d: count_text().startswith(f"{expected} of "))
        except Exception:
            raise AssertionError(f"role {role}: expected {expected} organisations, the page says {count_text()!r}")
        assert len(listed_names()) == min(expected, 50)
    select.select_by_value("")


def organisation_view_shows_api_resources():
    org = next(o for o in participants if any(s.get("ApiResources") for s in o.get("AuthorisationServers", [])))
    driver.find_element(By.CSS_SELECTOR, f'#results a[data-org="{org["OrganisationId"]}"]').click()
    view = driver.find_element(By.ID, "organisation")
    wait.until(lambda d: view.is_displayed() and org["OrganisationName"] in view.text)
    resources = sum(len(s.get("ApiResources", [])) for s in org["AuthorisationServers"])
    assert "API resources (" in view.text
    endpoint = next(e["ApiEndpoint"] for s in org["AuthorisationServers"] for r in s.get("ApiResources", []) for e in r.get("ApiDiscoveryEndpoints", []))
    assert endpoint in view.text, endpoint
    assert resources > 0


def deep_link_survives_a_reload():
    org = participants[-1]
    load(f"{base}/#org={org['OrganisationId']}")
    driver.refresh()
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
    heading = driver.find_element(By.CSS_SELECTOR, "#organisation h2").text
    assert heading == org["OrganisationName"], heading


def the_signature_verifies_in_the_page():
    load(f"{base}/")
    verified = wait.until(lambda d: d.find_element(By.ID, "signature").get_attribute("data-verified"))
    text = driver.find_element(By.ID, "signature").text
    assert verified == "true", text
    kid = json.load(urllib.request.urlopen(f"{base}/participants.jwks"))["keys"][0]["kid"]
    assert kid in text, text


def a_changed_file_is_shown_as_not_verified():
    path = f"{sys.argv[4]}/exports/participants"
    original = open(path, "rb").read()
    changed = original.replace(b'"Active"', b'"Activo"', 1)
    assert changed != original
    try:
        with open(path, "wb") as f:
            f.write(changed)
        load(f"{base}/")
        verified = wait.until(lambda d: d.find_element(By.ID, "signature").get_attribute("data-verified"))
        text = driver.find_element(By.ID, "signature").text
        assert verified == "false" and "hash mismatch" in text, text
    finally:
        with open(path, "wb") as f:
            f.write(original)


def a_crafted_link_hides_no_failed_signature():
    # `#org=%` is a malformed escape: the page must neither stop nor skip the check.
    path = f"{sys.argv[4]}/exports/participants"
    original = open(path, "rb").read()
    changed = original.replace(b'"Active"', b'"Activo"', 1)
    try:
        with open(path, "wb") as f:
            f.write(changed)
        load(f"{base}/#org=%")
        verified = wait.until(lambda d: d.find_element(By.ID, "signature").get_attribute("data-verified"))
        text = driver.find_element(By.ID, "signature").text
        assert verified == "false" and "NOT verified" in text, text
        assert count_text().startswith(f"{len(participants)} of "), count_text()
        view = driver.find_element(By.ID, "organisation")
        assert "No organisation with that id" in view.text, view.text
    finally:
        with open(path, "wb") as f:
            f.write(original)


def changes_since(since):
    """Every change after `since`, following the feed's pages."""
    out = []
    while True:
        page = json.load(urllib.request.urlopen(f"{base}/participants/changes?since={since}"))
        out += page["Changes"]
        since = page["Revision"]
        if not page["More"]:
            return out, since


def feed_state():
    feed = driver.find_element(By.ID, "feed")
    return feed.get_attribute("data-verified"), int(feed.get_attribute("data-revision") or -1), feed.text


def recent_changes_are_listed():
    load(f"{base}/")
    wait.until(lambda d: feed_state()[0] == "true")
    _, head = changes_since(0)
    expected, _ = changes_since(max(0, head - 20))
    items = driver.find_elements(By.CSS_SELECTOR, "#changes li")
    shown = [int(li.get_attribute("data-revision")) for li in items]
    assert shown == sorted((c["Revision"] for c in expected), reverse=True), (shown, expected)
    names = {o["OrganisationId"]: o["OrganisationName"] for o in participants}
    first = next(c for c in expected if c["Revision"] == shown[0])
    assert names[first["OrganisationId"]] in items[0].text, items[0].text
    assert feed_state()[1] == head, feed_state()


def put_claim(org_id, claim, status):
    token = subprocess.check_output(
        ["target/debug/directory", "--data-dir", sys.argv[4], "token", "--org", org_id, "--scope", "directory:admin"],
        stderr=subprocess.DEVNULL,
    ).decode().strip()
    body = {"AuthorityId": claim["AuthorityId"], "Status": status}
    if claim.get("RegistrationId"):
        body["RegistrationId"] = claim["RegistrationId"]
    request = urllib.request.Request(
        f"{base}/organisations/{org_id}/authorityclaims/{claim['OrganisationAuthorityClaimId']}",
        data=json.dumps(body).encode(),
        method="PUT",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 200, response.status


def a_change_made_while_the_page_is_open_is_applied():
    demo = json.load(open("data/demo.json"))
    org = next(o for o in demo["Organisations"] if any(c.get("Status") == "Active" for c in o.get("OrgDomainRoleClaims", [])))
    org_id = org["OrganisationDetails"]["OrganisationId"]
    claim = next(c for c in org["OrgDomainRoleClaims"] if c.get("Status") == "Active")
    load(f"{base}/#org={org_id}")
    wait.until(lambda d: feed_state()[0] == "true")
    _, before, _ = feed_state()
    view = driver.find_element(By.ID, "organisation")
    inactive = view.text.count("Inactive")
    try:
        put_claim(org_id, claim, "Inactive")
        # The page polls every few seconds and applies the verified page.
        wait.until(lambda d: feed_state()[1] > before)
        verified, after, text = feed_state()
        assert verified == "true", text
        wait.until(lambda d: view.text.count("Inactive") == inactive + 1)
        top = driver.find_element(By.CSS_SELECTOR, "#changes li")
        assert int(top.get_attribute("data-revision")) == after, top.text
        assert org["OrganisationDetails"]["OrganisationName"] in top.text, top.text
    finally:
        put_claim(org_id, claim, "Active")


def no_console_errors():
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


def no_request_leaves_the_origin():
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    outside = [u for u in urls if not u.startswith(base + "/") and not u.startswith(("data:", "about:"))]
    assert urls, "no requests seen"
    assert not outside, outside


def page_is_served_under_its_policy():
    response = urllib.request.urlopen(f"{base}/")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy, policy


try:
    check("the page lists every organisation of the file", page_loads_every_organisation)
    check("search finds an accented name typed without accents, in capitals", search_ignores_accents_and_case)
    check("the role filter narrows the list to the expected count", role_filter_narrows_to_the_expected_count)
    check("the organisation view shows its API resources and endpoints", organisation_view_shows_api_resources)
    check("a deep link opens the organisation after a reload", deep_link_survives_a_reload)
    check("the page verifies the file's signature with WebCrypto", the_signature_verifies_in_the_page)
    check("a file changed after signing is shown as not verified", a_changed_file_is_shown_as_not_verified)
    check("a link with a malformed escape still shows the failed signature", a_crafted_link_hides_no_failed_signature)
    check("the page lists the recent changes from the feed", recent_changes_are_listed)
    check("a change made while the page is open is verified and applied", a_change_made_while_the_page_is_open_is_applied)
    check("no console errors", no_console_errors)
    check("no request leaves the origin", no_request_leaves_the_origin)
    check("the page is served with its content security policy", page_is_served_under_its_policy)
finally:
    driver.quit()
passed = sum(results)
print(f"browser: {passed} passed, {len(results) - passed} failed")
sys.exit(0 if all(results) else 1)
