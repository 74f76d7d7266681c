// The participants explorer: loads the published `participants` file from this origin,
// lets people search it and shows whether its detached signature verifies (WebCrypto).
// Left open, it follows the changes feed (`participants/changes`): it lists the recent
// changes, polls with `If-None-Match` (a 304 while nothing changes), verifies each page's
// signature and applies only what verifies. No framework and no build step. Every value
// from the file is set as text (never parsed as HTML). Links are made only from http(s)
// URLs and are followed only when clicked: the page requests nothing from other origins.

const PAGE = 50;
/** How often the open page asks the feed for changes. */
const POLL_MS = 5000;
/** How many revisions back "Changed recently" starts. */
const RECENT = 20;
const FILE_TYP = "participants+jws";
const CHANGES_TYP = "participants-changes+jws";
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

/** The organisation id of the link (`#org=…`); a malformed escape (`#org=%`) is taken as
 * it is, never thrown: a crafted link must not stop the page, or its signature check. */
export function selectedId(hash = location.hash) {
  const match = /^#org=(.+)$/.exec(hash);
  if (!match) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return match[1];
  }
}

/** Shows whether the file verifies (its JWS header when it does); runs whatever becomes
 * of the rest of the page. */
async function showSignature(bytes) {
  const signature = $("signature");
  try {
    const verified = await verifyFile(bytes);
    const at = verified.revision === undefined ? "" : ` at revision ${verified.revision}`;
    signature.textContent = `Signature verified${at}: key ${verified.kid}, signed ${new Date(verified.iat * 1000).toISOString()}.`;
    signature.dataset.verified = "true";
    return verified;
  } catch (e) {
    signature.textContent = `Signature NOT verified: ${e.message}`;
    signature.dataset.verified = "false";
    return null;
  }
}

async function main() {
  const status = $("status");
  const started = performance.now();
  let orgs;
  let bytes;
  let fileRevision = null;
  try {
    const response = await fetch("participants", { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    fileRevision = Number(response.headers.get("x-directory-revision") ?? NaN);
    // The exact bytes are kept: the signature is over them, not over the parsed data.
    bytes = new Uint8Array(await response.arrayBuffer());
    orgs = JSON.parse(new TextDecoder().decode(bytes));
    if (!Array.isArray(orgs)) throw new Error("not a JSON array");
  } catch (e) {
    status.textContent = `The participants file could not be loaded (${e.message}).`;
    if (bytes) await showSignature(bytes);
    return;
  }
  // Started first and awaited last: nothing the list or the routing does can keep
  // the reader from learning whether the file verifies.
  const checked = showSignature(bytes);
  let view;
  try {
    view = render(orgs, status, started);
  } finally {
    const verified = await checked;
    // Changes are applied only on top of a file that verified, from the revision its
    // signature states.
    if (verified && view) follow(view, verified.revision ?? fileRevision);
  }
}

/** Lists, filters and routes; the file has been read and parsed. `replace` shows
 * another set of organisations (the file with changes applied) in the same view. */
function render(orgs, status, started) {
  let all = orgs.map(indexed);
  let byId = new Map(orgs.map((o) => [o.OrganisationId, o]));
  const selects = { country: (x) => [x.country], role: (x) => [...x.roles], orgstatus: (x) => [x.org.Status], family: (x) => [...x.families] };
  function fillAll() {
    for (const [id, values] of Object.entries(selects)) {
      const select = $(id);
      const chosen = select.value;
      select.replaceChildren(el("option", "All", { value: "" }));
      fillSelect(select, new Set(all.flatMap(values).filter(Boolean)));
      select.value = chosen;
    }
  }
  fillAll();

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
  return {
    byId: () => byId,
    replace(next) {
      all = next.map(indexed);
      byId = new Map(next.map((o) => [o.OrganisationId, o]));
      fillAll();
      apply();
      route();
      status.textContent = `${next.length} organisations.`;
    },
  };
}

/** One line of "Changed recently". */
function changeItem(change, name) {
  const li = el("li", null, { "data-revision": String(change.Revision) });
  li.append(el("span", `r${change.Revision}`, { class: "badge" }), " ");
  const a = el("a", name ?? change.OrganisationId, { href: `#org=${encodeURIComponent(change.OrganisationId)}` });
  li.append(a, " ", el("small", change.Removed ? "left the directory" : "changed"));
  return li;
}

/** The feed's page after `since`: `null` on 304 (nothing new since `etag`), else the
 * page, its bytes' signature verified with the published keys, its header's range
 * equal to the request's. */
async function changesAfter(since, etag, keys) {
  const headers = { Accept: "application/json" };
  if (etag) headers["If-None-Match"] = etag;
  const response = await fetch(`participants/changes?since=${since}`, { headers, cache: "no-store" }).catch((e) => {
    throw Object.assign(new Error(`changes feed: ${e.message}`), { unreachable: true });
  });
  if (response.status === 304) return null;
  if (response.status === 404 || response.status === 403) {
    throw Object.assign(new Error(`changes feed: HTTP ${response.status}`), { unreachable: true });
  }
  if (response.status === 410) throw Object.assign(new Error("the changes are no longer kept: reload the page"), { gone: true });
  if (!response.ok) throw new Error(`changes feed: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const jws = response.headers.get("x-jws-signature");
  if (!jws) throw new Error("the changes page carries no signature");
  const header = await verifyDetached(bytes, jws, keys, CHANGES_TYP);
  const page = JSON.parse(new TextDecoder().decode(bytes));
  if (header.since !== since || header.revision !== page.Revision || page.Since !== since) {
    throw new Error(`the page's signed range (${header.since}..${header.revision}) is not the one asked for`);
  }
  return { page, etag: response.headers.get("ETag") };
}

/** Follows the feed from the file's revision: lists recent changes, then polls and
 * applies each verified page to the view. A page that does not verify is shown and
 * not applied. */
async function follow(view, revision) {
  const feed = $("feed");
  const list = $("changes");
  if (!Number.isFinite(revision)) {
    feed.textContent = "The file states no revision: changes cannot be followed.";
    return;
  }
  let keys = await publishedKeys();
  const names = (id) => view.byId().get(id)?.OrganisationName;
  // The recent changes up to the file's revision (whatever is still kept).
  try {
    let since = Math.max(0, revision - RECENT);
    const recent = [];
    while (since < revision) {
      const got = await changesAfter(since, null, keys);
      recent.push(...got.page.Changes.filter((c) => c.Revision <= revision));
      if (!got.page.More || got.page.Revision >= revision) break;
      since = got.page.Revision;
    }
    list.replaceChildren(...recent.reverse().map((c) => changeItem(c, names(c.OrganisationId))));
  } catch (e) {
    if (e.unreachable) {
      // Served where the API is not (e.g. a bucket of its own): the file alone.
      feed.textContent = "The changes feed is not reachable from this page's origin: the file is shown as published.";
      return;
    }
    feed.textContent = `Recent changes unavailable: ${e.message}`;
  }
  let etag = null;
  const show = (text, verified) => {
    feed.textContent = text;
    feed.dataset.revision = String(revision);
    feed.dataset.verified = String(verified);
  };
  show(`Current at revision ${revision}.`, true);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    try {
      let got = await changesAfter(revision, etag, keys).catch(async (e) => {
        if (!/unknown key/.test(e.message)) throw e;
        keys = await publishedKeys(); // a rotation since the keys were read
        return changesAfter(revision, etag, keys);
      });
      while (got) {
        const { page } = got;
        if (page.Changes.length) {
          const byId = new Map(view.byId());
          for (const c of page.Changes) {
            if (c.Removed) byId.delete(c.OrganisationId);
            else byId.set(c.OrganisationId, c.Organisation);
          }
          // The file's order: by organisation id.
          view.replace([...byId.values()].sort((a, b) => (a.OrganisationId < b.OrganisationId ? -1 : 1)));
          for (const c of page.Changes) list.prepend(changeItem(c, names(c.OrganisationId) ?? c.OrganisationId));
          while (list.children.length > RECENT) list.lastChild.remove();
        }
        revision = page.Revision;
        etag = got.etag;
        got = page.More ? await changesAfter(revision, null, keys) : null;
      }
      show(`Current at revision ${revision} (checked ${new Date().toLocaleTimeString()}).`, true);
    } catch (e) {
      show(`Changes NOT applied: ${e.message}`, false);
      if (e.gone) return;
    }
  }
}

/** The published key set. */
async function publishedKeys() {
  const response = await fetch("participants.jwks", { cache: "no-store" });
  if (!response.ok) throw new Error("no keys published beside the file");
  return (await response.json()).keys ?? [];
}

function base64urlDecode(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0));
}

function base64urlEncode(bytes) {
  if (typeof bytes.toBase64 === "function") return bytes.toBase64({ alphabet: "base64url", omitPadding: true });
  let out = "";
  // Whole groups of three bytes per piece, so pieces encode independently.
  for (let i = 0; i < bytes.length; i += 0x2000 * 3) {
    out += btoa(String.fromCharCode(...bytes.subarray(i, i + 0x2000 * 3)));
  }
  return out.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function hex(buffer) {
  return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Checks a detached JWS over `bytes` as the `verify` command does: ES256 only, the
 * expected `typ`, the header's SHA-256 equal to the bytes', a known key inside its
 * rotation window, then the signature over header and bytes. Returns the header.
 */
async function verifyDetached(bytes, jws, keys, typ) {
  if (!globalThis.crypto?.subtle) throw new Error("this browser offers no WebCrypto here (needs HTTPS or localhost)");
  const parts = jws.trim().split(".");
  if (parts.length !== 3 || parts[1] !== "") throw new Error("not a detached compact JWS");
  const header = JSON.parse(new TextDecoder().decode(base64urlDecode(parts[0])));
  if (header.alg !== "ES256") throw new Error(`algorithm ${header.alg} is not accepted`);
  if (header.typ !== typ) throw new Error(`type ${header.typ} where ${typ} was expected`);
  if (header.crit !== undefined) throw new Error("critical header extensions are not understood");
  const actual = hex(await crypto.subtle.digest("SHA-256", bytes));
  if (actual !== header.sha256) throw new Error(`hash mismatch: signed ${header.sha256}, got ${actual}`);
  const jwk = keys.find((k) => k.kid === header.kid);
  if (!jwk) throw new Error(`unknown key ${header.kid}`);
  if (jwk.exp !== undefined && jwk.exp * 1000 <= Date.now()) throw new Error(`key ${jwk.kid} left its rotation window`);
  const key = await crypto.subtle.importKey(
    "jwk",
    { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y },
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["verify"],
  );
  const input = new TextEncoder().encode(`${parts[0]}.${base64urlEncode(bytes)}`);
  const ok = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, base64urlDecode(parts[2]), input);
  if (!ok) throw new Error(`bad signature: key ${jwk.kid} does not verify these bytes`);
  return header;
}

/** Checks the file against `participants.jws` and `participants.jwks` beside it. */
async function verifyFile(bytes) {
  const [jwsResponse, keys] = await Promise.all([fetch("participants.jws"), publishedKeys().catch(() => null)]);
  if (!jwsResponse.ok || !keys) throw new Error("no signature or keys published beside the file");
  return verifyDetached(bytes, await jwsResponse.text(), keys, FILE_TYP);
}

main();
