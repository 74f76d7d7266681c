// The participants explorer: loads the published `participants` file from this origin
// and lets people search it. No framework and no build step. Every value from the file
// is set as text (never parsed as HTML). Links are made only from http(s) URLs and are
// followed only when clicked: the page itself requests nothing from other origins.

const PAGE = 50;
const $ = (id) => document.getElementById(id);

/** Lower case without accents: "Atlântico" and "atlantico" match. */
export function fold(text) {
  return String(text ?? "").normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
}

/** An element with text content and attributes. */
function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

/** A link for an http(s) URL, or the text alone for anything else. */
function link(url, text) {
  try {
    const parsed = new URL(url);
    if (parsed.protocol === "https:" || parsed.protocol === "http:") {
      return el("a", text ?? url, { href: parsed.href, rel: "noopener noreferrer", target: "_blank" });
    }
  } catch {
    // not a URL: shown as text
  }
  return el("span", text ?? url ?? "");
}

function roles(org) {
  return (org.OrgDomainRoleClaims ?? []).map((c) => c.Role).filter(Boolean);
}

function families(org) {
  return (org.AuthorisationServers ?? []).flatMap((s) => (s.ApiResources ?? []).map((r) => r.ApiFamilyType)).filter(Boolean);
}

/** What the filters look at, computed once per organisation. */
function indexed(org) {
  return {
    org,
    text: fold([org.OrganisationName, org.LegalEntityName, org.RegisteredName, org.RegistrationNumber].join(" ")),
    country: org.Country ?? org.CountryOfRegistration ?? "",
    roles: new Set(roles(org)),
    families: new Set(families(org)),
  };
}

function fillSelect(select, values) {
  for (const value of [...values].sort((a, b) => a.localeCompare(b))) {
    select.append(el("option", value, { value }));
  }
}

function table(headers, rows) {
  const t = el("table");
  const head = el("tr");
  headers.forEach((h) => head.append(el("th", h)));
  t.append(el("thead"));
  t.tHead.append(head);
  const body = el("tbody");
  for (const row of rows) {
    const tr = el("tr");
    for (const cell of row) {
      const td = el("td");
      if (cell instanceof Node) td.append(cell);
      else td.textContent = cell ?? "";
      tr.append(td);
    }
    body.append(tr);
  }
  t.append(body);
  return t;
}

function details(org) {
  const dl = el("dl");
  const fields = [
    ["Organisation id", org.OrganisationId],
    ["Status", org.Status],
    ["Legal entity name", org.LegalEntityName],
    ["Registration number", org.RegistrationNumber],
    ["Company register", org.CompanyRegister],
    ["Country", org.Country ?? org.CountryOfRegistration],
    ["City", org.City],
    ["Tags", (org.Tags ?? []).join(", ")],
  ];
  for (const [name, value] of fields) {
    if (value === undefined || value === null || value === "") continue;
    dl.append(el("dt", name), el("dd", value));
  }
  return dl;
}

function server(s) {
  const box = el("div", null, { class: "server" });
  box.append(el("h3", s.CustomerFriendlyName ?? s.AuthorisationServerId));
  const dl = el("dl");
  dl.append(el("dt", "Status"), el("dd", s.Status ?? ""));
  if (s.OpenIDDiscoveryDocument) {
    const dd = el("dd");
    dd.append(link(s.OpenIDDiscoveryDocument));
    dl.append(el("dt", "Discovery document"), dd);
  }
  if (s.CustomerFriendlyLogoUri) {
    // A link, not an image: showing it would make every visit request another origin.
    const dd = el("dd");
    dd.append(link(s.CustomerFriendlyLogoUri));
    dl.append(el("dt", "Logo"), dd);
  }
  if (s.CustomerFriendlyDescription) dl.append(el("dt", "Description"), el("dd", s.CustomerFriendlyDescription));
  box.append(dl);
  const resources = s.ApiResources ?? [];
  box.append(el("h4", `API resources (${resources.length})`));
  box.append(
    table(
      ["Family", "Version", "Status", "Endpoints"],
      resources.map((r) => {
        const list = el("ul");
        for (const e of r.ApiDiscoveryEndpoints ?? []) {
          const li = el("li");
          li.append(link(e.ApiEndpoint));
          list.append(li);
        }
        return [r.ApiFamilyType, r.ApiVersion, r.Status, list];
      }),
    ),
  );
  return box;
}

function showOrganisation(org, view) {
  view.replaceChildren();
  if (!org) {
    view.hidden = false;
    view.append(el("p", "No organisation with that id in this file."));
    return;
  }
  view.hidden = false;
  view.append(el("h2", org.OrganisationName ?? org.OrganisationId));
  view.append(details(org));
  const claims = org.OrgDomainRoleClaims ?? [];
  view.append(el("h3", `Role claims (${claims.length})`));
  view.append(
    table(
      ["Domain", "Role", "Status", "Registration id"],
      claims.map((c) => [c.AuthorisationDomain, c.Role, c.Status, c.RegistrationId]),
    ),
  );
  const servers = org.AuthorisationServers ?? [];
  view.append(el("h3", `Authorisation servers (${servers.length})`));
  servers.forEach((s) => view.append(server(s)));
}

function selectedId() {
  const match = /^#org=(.+)$/.exec(location.hash);
  return match ? decodeURIComponent(match[1]) : null;
}

async function main() {
  const status = $("status");
  const started = performance.now();
  let orgs;
  try {
    const response = await fetch("participants", { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    orgs = await response.json();
    if (!Array.isArray(orgs)) throw new Error("not a JSON array");
  } catch (e) {
    status.textContent = `The participants file could not be loaded (${e.message}).`;
    return;
  }
  const all = orgs.map(indexed);
  const byId = new Map(orgs.map((o) => [o.OrganisationId, o]));
  fillSelect($("country"), new Set(all.map((x) => x.country).filter(Boolean)));
  fillSelect($("role"), new Set(all.flatMap((x) => [...x.roles])));
  fillSelect($("orgstatus"), new Set(orgs.map((o) => o.Status).filter(Boolean)));
  fillSelect($("family"), new Set(all.flatMap((x) => [...x.families])));

  let matches = all;
  let shown = 0;
  const results = $("results");

  function renderMore() {
    const selected = selectedId();
    const fragment = document.createDocumentFragment();
    for (const { org } of matches.slice(shown, shown + PAGE)) {
      const li = el("li");
      const a = el("a", org.OrganisationName ?? org.OrganisationId, {
        href: `#org=${encodeURIComponent(org.OrganisationId)}`,
        "data-org": org.OrganisationId,
      });
      if (org.OrganisationId === selected) a.setAttribute("aria-current", "true");
      a.append(el("small", [org.LegalEntityName, org.Country, org.Status, roles(org).join(" ")].filter(Boolean).join(" · ")));
      li.append(a);
      fragment.append(li);
    }
    results.append(fragment);
    shown = Math.min(shown + PAGE, matches.length);
    $("more").hidden = shown >= matches.length;
  }

  function apply() {
    const q = fold($("q").value.trim());
    const country = $("country").value;
    const role = $("role").value;
    const orgStatus = $("orgstatus").value;
    const family = $("family").value;
    matches = all.filter(
      (x) =>
        (!q || x.text.includes(q)) &&
        (!country || x.country === country) &&
        (!role || x.roles.has(role)) &&
        (!orgStatus || x.org.Status === orgStatus) &&
        (!family || x.families.has(family)),
    );
    $("count").textContent = `${matches.length} of ${all.length} organisations`;
    results.replaceChildren();
    shown = 0;
    renderMore();
  }

  function route() {
    const id = selectedId();
    if (id === null) {
      $("organisation").hidden = true;
      return;
    }
    showOrganisation(byId.get(id), $("organisation"));
    for (const a of results.querySelectorAll("a[data-org]")) {
      a.setAttribute("aria-current", String(a.dataset.org === id));
    }
  }

  // Typing fires input; choosing from a list fires change (and, in most browsers, input).
  $("filters").addEventListener("input", apply);
  $("filters").addEventListener("change", apply);
  $("filters").addEventListener("submit", (e) => e.preventDefault());
  $("more").addEventListener("click", renderMore);
  window.addEventListener("hashchange", route);
  apply();
  route();
  const ms = Math.round(performance.now() - started);
  status.textContent = `${orgs.length} organisations, loaded and indexed in ${ms} ms.`;
  document.body.dataset.ready = String(ms);
}

main();
