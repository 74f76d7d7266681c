// The directory as OpenID Federation 1.0 Trust Anchor, checked by someone else's
// code: @openid-federation/core (OpenWallet Foundation labs) resolves the trust chains,
// verifies every entity statement's signature, typ, iss/sub/exp and applies the
// metadata policy. What that library does not check (trust marks, which it never
// verifies; the subject's key being in the superior's statement) is checked here with
// node:crypto, as a relying party would. Run by scripts/federation-test.sh against the
// local server; prints "federation: N passed, N failed".
//
// Environment: BASE (the Trust Anchor), ORG (an organisation with a hosted server
// HOSTED_AS and a self-managed server SELF_AS whose FederationEndpoint is LEAF), ADMIN
// and WRITE (tokens), KEY_PEM (the federation key file: to forge a validly signed but
// expired statement), CLAIM (an Active claim of ORG whose role is ROLE).
import crypto from 'node:crypto';
import http from 'node:http';
import fs from 'node:fs';
import { resolveTrustChains } from '@openid-federation/core';

const env = (n) => {
  if (!process.env[n]) throw new Error(`${n} is not set`);
  return process.env[n];
};
const BASE = env('BASE');
const ORG = env('ORG');
const HOSTED = `${BASE}/federation/entities/${ORG}/${env('HOSTED_AS')}`;
const LEAF = env('LEAF');
const ROLE = env('ROLE');
const MARK_TYPE = `${BASE}/trust-marks/roles/${ROLE}`;

let passed = 0;
let failed = 0;
async function test(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

// --- JOSE with node:crypto only --------------------------------------------------
const b64u = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');
const decode = (jwt) => {
  const [h, p] = jwt.split('.');
  return { header: JSON.parse(Buffer.from(h, 'base64url')), claims: JSON.parse(Buffer.from(p, 'base64url')) };
};
function verifyWith(jwt, jwks) {
  const [h, p, s] = jwt.split('.');
  const { header } = decode(jwt);
  if (header.alg !== 'ES256') return false;
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  if (!jwk) return false;
  const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  return crypto.verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'));
}
function sign(privateKey, header, claims) {
  const input = `${b64u(header)}.${b64u(claims)}`;
  const sig = crypto.sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${sig.toString('base64url')}`;
}
function newKey(kid) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: kid ?? undefined, alg: 'ES256', use: 'sig' };
  if (!kid) {
    const t = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
    jwk.kid = crypto.createHash('sha256').update(t).digest('base64url');
  }
  return { privateKey, jwk };
}
// The library's verification callback: ES256 only, the key it hands over.
async function verifyJwtCallback({ header, data, signature, jwk }) {
  if (header.alg !== 'ES256') return false;
  const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  return crypto.verify('sha256', Buffer.from(data), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature));
}

// --- a self-managed leaf on loopback, with its own key ------------------------------
const leafKey = newKey();
let servedKey = leafKey; // what the leaf signs with (a test swaps it)
const leafMetadata = {
  federation_entity: { organization_name: 'Leaf test entity' },
  openid_provider: {
    issuer: `${LEAF}/issuer`,
    client_registration_types_supported: ['explicit'],
    scopes_supported: ['openid', 'payments', 'accounts', 'not-a-role-scope'],
    token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_basic'],
  },
};
function leafConfiguration() {
  const now = Math.floor(Date.now() / 1000);
  return sign(
    servedKey.privateKey,
    { alg: 'ES256', typ: 'entity-statement+jwt', kid: servedKey.jwk.kid },
    { iss: LEAF, sub: LEAF, iat: now, exp: now + 3600, jwks: { keys: [servedKey.jwk] }, authority_hints: [BASE], metadata: leafMetadata },
  );
}
const leafPort = Number(new URL(LEAF).port);
const leafServer = http.createServer((req, res) => {
  if (req.url.split('?')[0] === '/.well-known/openid-federation') {
    res.writeHead(200, { 'content-type': 'application/entity-statement+jwt' });
    res.end(leafConfiguration());
  } else {
    res.writeHead(404);
    res.end();
  }
});
await new Promise((ok) => leafServer.listen(leafPort, '127.0.0.1', ok));

// --- helpers against the directory -------------------------------------------------
async function get(path) {
  const r = await fetch(`${BASE}${path}`);
  return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
}
async function anchorKeys() {
  const ec = await get('/.well-known/openid-federation');
  return decode(ec.text).claims.jwks;
}
async function markStatus(mark) {
  const r = await fetch(`${BASE}/federation/trust-mark-status`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `trust_mark=${encodeURIComponent(mark)}`,
  });
  const text = await r.text();
  assert(r.status === 200, `status endpoint answered ${r.status} ${text}`);
  assert(r.headers.get('content-type') === 'application/trust-mark-status-response+jwt', 'status media type');
  assert(verifyWith(text, await anchorKeys()), 'status response signed by the trust anchor');
  return decode(text).claims.status;
}
// A relying party's rule: the entity must hold a verified, active trust mark of MARK_TYPE
// issued by an issuer the Trust Anchor names for it.
async function holdsRole(trustMarks, taConfiguration) {
  const issuers = taConfiguration.trust_mark_issuers?.[MARK_TYPE] ?? [];
  for (const m of trustMarks ?? []) {
    if (m.trust_mark_type !== MARK_TYPE) continue;
    const { header, claims } = decode(m.trust_mark);
    if (header.typ !== 'trust-mark+jwt' || !issuers.includes(claims.iss)) continue;
    if (!verifyWith(m.trust_mark, taConfiguration.jwks)) continue;
    if (claims.exp && claims.exp * 1000 < Date.now()) continue;
    if ((await markStatus(m.trust_mark)) === 'active') return true;
  }
  return false;
}
async function hostedMarks() {
  const r = await fetch(`${HOSTED}/.well-known/openid-federation`);
  assert(r.headers.get('content-type') === 'application/entity-statement+jwt', 'hosted media type');
  return decode(await r.text()).claims.trust_marks;
}
async function chainsFor(entityId) {
  return resolveTrustChains({ entityId, trustAnchorEntityIds: [BASE], verifyJwtCallback });
}
// Runs `fn` with every fetch-endpoint answer passed through `change`.
async function withFetchAnswers(change, fn) {
  const real = globalThis.fetch;
  globalThis.fetch = async (url, init) => {
    const r = await real(url, init);
    if (!String(url).startsWith(`${BASE}/federation/fetch`)) return r;
    const body = change(await r.text());
    return new Response(body, { status: r.status, headers: { 'content-type': r.headers.get('content-type') } });
  };
  try {
    return await fn();
  } finally {
    globalThis.fetch = real;
  }
}
async function expectNoTrust(fn, what) {
  let chains;
  try {
    chains = await fn();
  } catch {
    return; // the library refused the chain outright
  }
  assert(chains.length === 0, `${what}: the library still resolved ${chains.length} chain(s)`);
}

// --- the tests ---------------------------------------------------------------------
let heldMark;

await test('the trust anchor configuration is a valid self-signed entity statement', async () => {
  const ec = await get('/.well-known/openid-federation');
  assert(ec.status === 200 && ec.type === 'application/entity-statement+jwt', `${ec.status} ${ec.type}`);
  const { header, claims } = decode(ec.text);
  assert(header.typ === 'entity-statement+jwt' && header.kid, 'typ and kid');
  assert(claims.iss === BASE && claims.sub === BASE, 'iss = sub = trust anchor');
  assert(claims.exp > claims.iat && claims.exp - claims.iat <= 86400, 'expires within 24 h');
  assert(!('authority_hints' in claims), 'a trust anchor has no authority_hints');
  assert(verifyWith(ec.text, claims.jwks), 'self-signed');
  assert(claims.metadata.federation_entity.federation_fetch_endpoint === `${BASE}/federation/fetch`, 'fetch endpoint');
  assert(claims.trust_mark_issuers[MARK_TYPE]?.includes(BASE), 'names itself as the role mark issuer');
});

await test('a hosted entity resolves to the trust anchor with the library, policy applied', async () => {
  const chains = await chainsFor(HOSTED);
  assert(chains.length === 1, `${chains.length} chains`);
  const c = chains[0];
  assert(c.trustAnchorEntityConfiguration.sub === BASE, 'anchored at the directory');
  assert(c.chain[0].iss === BASE && c.chain[0].sub === HOSTED, 'subordinate statement iss/sub');
  const op = c.resolvedLeafMetadata.openid_provider;
  assert(op && op.scopes_supported.includes('openid'), 'resolved openid_provider metadata');
  assert(op.token_endpoint_auth_methods_supported.every((m) => m !== 'client_secret_basic'), 'FAPI methods');
  // Trust marks carried in the hosted configuration (as served: the library decodes
  // them) verify against the anchor's keys.
  const held = await holdsRole(await hostedMarks(), c.trustAnchorEntityConfiguration);
  assert(held, `holds an active ${ROLE} mark`);
});

await test('an admin pins the self-managed leaf once; anyone else cannot', async () => {
  const body = JSON.stringify({ OrganisationId: ORG, AuthorisationServerId: env('SELF_AS') });
  const headers = { 'content-type': 'application/json' };
  const anonymous = await fetch(`${BASE}/federation/pins`, { method: 'POST', headers, body });
  assert(anonymous.status === 401, `no token: ${anonymous.status}`);
  const writer = await fetch(`${BASE}/federation/pins`, {
    method: 'POST',
    headers: { ...headers, authorization: `Bearer ${env('WRITE')}` },
    body,
  });
  assert(writer.status === 403, `directory:write: ${writer.status}`);
  const before = JSON.parse((await get('/federation/list')).text);
  assert(!before.includes(LEAF), 'not listed before it is pinned');
  const r = await fetch(`${BASE}/federation/pins`, {
    method: 'POST',
    headers: { ...headers, authorization: `Bearer ${env('ADMIN')}` },
    body,
  });
  const pinned = await r.json();
  assert(r.status === 200, `pin: ${r.status} ${JSON.stringify(pinned)}`);
  assert(pinned.EntityId === LEAF && pinned.Kids[0] === leafKey.jwk.kid && pinned.Source === 'fetched', JSON.stringify(pinned));
});

await test('the self-managed leaf resolves with the library, the roles policy cutting its metadata', async () => {
  const chains = await chainsFor(LEAF);
  assert(chains.length === 1, `${chains.length} chains`);
  const statement = chains[0].chain[0];
  assert(statement.jwks.keys.some((k) => k.kid === leafKey.jwk.kid), 'the statement vouches for the pinned key');
  const op = chains[0].resolvedLeafMetadata.openid_provider;
  assert(!op.scopes_supported.includes('not-a-role-scope'), `scopes cut: ${op.scopes_supported}`);
  assert(op.scopes_supported.includes('openid'), 'openid kept');
  assert(JSON.stringify(op.token_endpoint_auth_methods_supported) === '["private_key_jwt"]', 'FAPI methods');
});

await test("the directory's resolve agrees with the library and carries verified trust marks", async () => {
  const r = await get(`/federation/resolve?sub=${encodeURIComponent(LEAF)}&trust_anchor=${encodeURIComponent(BASE)}`);
  assert(r.status === 200 && r.type === 'application/resolve-response+jwt', `${r.status} ${r.type} ${r.text}`);
  const keys = await anchorKeys();
  assert(verifyWith(r.text, keys), 'signed by the anchor');
  const { header, claims } = decode(r.text);
  assert(header.typ === 'resolve-response+jwt', 'typ');
  const library = (await chainsFor(LEAF))[0].resolvedLeafMetadata.openid_provider;
  assert(
    JSON.stringify([...claims.metadata.openid_provider.scopes_supported].sort()) === JSON.stringify([...library.scopes_supported].sort()),
    'same resolved scopes as the library',
  );
  assert(claims.trust_chain.length === 3, 'leaf, statement, anchor');
  assert(claims.exp <= Math.min(...claims.trust_chain.map((t) => decode(t).claims.exp)), 'exp within the chain');
  const ta = decode((await get('/.well-known/openid-federation')).text).claims;
  assert(await holdsRole(claims.trust_marks, ta), `holds an active ${ROLE} mark`);
  heldMark = claims.trust_marks.find((m) => m.trust_mark_type === MARK_TYPE).trust_mark;
});

await test('a tampered subordinate statement is refused by the library', async () => {
  await expectNoTrust(
    () =>
      withFetchAnswers((jwt) => {
        const [h, p, s] = jwt.split('.');
        const claims = JSON.parse(Buffer.from(p, 'base64url'));
        claims.metadata_policy = {};
        return `${h}.${b64u(claims)}.${s}`;
      }, () => chainsFor(LEAF)),
    'tampered',
  );
});

await test('an expired statement, signed with the real federation key, is refused', async () => {
  const key = crypto.createPrivateKey(fs.readFileSync(env('KEY_PEM')));
  await expectNoTrust(
    () =>
      withFetchAnswers((jwt) => {
        const { header, claims } = decode(jwt);
        const now = Math.floor(Date.now() / 1000);
        return sign(key, header, { ...claims, iat: now - 7200, exp: now - 3600 });
      }, () => chainsFor(LEAF)),
    'expired',
  );
});

await test("a statement signed by a key not in the anchor's configuration is refused", async () => {
  const stranger = newKey();
  await expectNoTrust(
    () =>
      withFetchAnswers((jwt) => {
        const { header, claims } = decode(jwt);
        return sign(stranger.privateKey, header, claims); // same kid, other key
      }, () => chainsFor(LEAF)),
    'foreign key',
  );
});

await test('a leaf serving an unpinned key is not vouched for by the directory', async () => {
  servedKey = newKey();
  try {
    const r = await get(`/federation/resolve?sub=${encodeURIComponent(LEAF)}&trust_anchor=${encodeURIComponent(BASE)}`);
    assert(r.status >= 400, `resolve answered ${r.status}`);
    // The subordinate statement still names only the pinned key, which did not sign.
    const chains = await chainsFor(LEAF);
    const vouched = chains[0].chain[0].jwks.keys.map((k) => k.kid);
    assert(!vouched.includes(servedKey.jwk.kid), 'the new key is not vouched for');
  } finally {
    servedKey = leafKey;
  }
});

await test('a claim set Inactive revokes the role at once: status, resolve, trust mark, hosted configuration', async () => {
  assert(heldMark, 'a mark from the resolve test');
  assert((await markStatus(heldMark)) === 'active', 'active before');
  const put = await fetch(`${BASE}/organisations/${ORG}/authorityclaims/${env('CLAIM')}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${env('WRITE')}` },
    body: JSON.stringify({ AuthorityId: env('AUTHORITY'), Status: 'Inactive' }),
  });
  assert(put.status === 200, `PUT ${put.status} ${await put.text()}`);
  assert((await markStatus(heldMark)) === 'revoked', 'revoked at once');
  const r = await get(`/federation/resolve?sub=${encodeURIComponent(LEAF)}&trust_anchor=${encodeURIComponent(BASE)}`);
  const claims = decode(r.text).claims;
  assert(!claims.trust_marks.some((m) => m.trust_mark_type === MARK_TYPE), 'resolve drops the mark');
  const ta = decode((await get('/.well-known/openid-federation')).text).claims;
  assert(!(await holdsRole(claims.trust_marks, ta)), 'a relying party requiring the role no longer trusts it');
  const mark = await get(`/federation/trust-mark?trust_mark_type=${encodeURIComponent(MARK_TYPE)}&sub=${encodeURIComponent(LEAF)}`);
  assert(mark.status === 404, `trust mark endpoint: ${mark.status}`);
  assert((await chainsFor(HOSTED)).length === 1, 'the hosted entity is still trusted');
  assert(!(await holdsRole(await hostedMarks(), ta)), 'its hosted configuration drops the mark');
  const forged = sign(newKey().privateKey, decode(heldMark).header, decode(heldMark).claims);
  assert((await markStatus(forged)) === 'invalid', 'a mark the directory did not sign is invalid');
});

await test('errors are the specification\'s: unknown subject, foreign trust anchor, missing parameter', async () => {
  const nf = await get(`/federation/fetch?sub=${encodeURIComponent('https://nobody.example')}`);
  assert(nf.status === 404 && JSON.parse(nf.text).error === 'not_found', nf.text);
  const ta = await get(`/federation/resolve?sub=${encodeURIComponent(LEAF)}&trust_anchor=https://other.example`);
  assert(ta.status === 404 && JSON.parse(ta.text).error === 'invalid_trust_anchor', ta.text);
  const missing = await get('/federation/fetch');
  assert(missing.status === 400 && JSON.parse(missing.text).error === 'invalid_request', missing.text);
});

leafServer.close();
console.log(`federation: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
