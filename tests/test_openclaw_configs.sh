#!/usr/bin/env bash
# test_openclaw_configs.sh BINARY TESTDATA BUILD_DIR — every OpenClaw config in docs/
# (docs/openclaw-*.json5) against the GPU-bridge plugin's own manifest
# (../shared/clients/openclaw-gpu-bridge-0.2.1/openclaw.plugin.json), as OpenClaw checks it:
# plugins.entries.<the manifest's id> exists and names no unknown plugin, and its config
# validates against the manifest's configSchema (ajv, JSON Schema). One file configures one
# host, one several (hosts[]). Known-bad configs must fail, so the check can fail.
# Needs node + npm packages (tests/node_deps.sh) and ../shared/clients; SKIP without them
# (without node/npm or, with ../shared there, the manifest: a failure under VKB_REQUIRE_ALL=1,
# as in CI: tests/skiplib.sh).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/skiplib.sh"
ROOT=$(cd "$HERE/.." && pwd)
MANIFEST="$ROOT/../shared/clients/openclaw-gpu-bridge-0.2.1/openclaw.plugin.json"
if ! MODULES=$("$HERE/node_deps.sh" "$3"); then
  vkb_skip "OpenClaw configs: node/npm or the npm packages (ajv) are not available"
fi
if [ ! -f "$MANIFEST" ]; then
  vkb_skip_shared "OpenClaw configs: no plugin manifest at $MANIFEST"
fi
NODE_PATH="$MODULES" exec node - "$MANIFEST" "$ROOT"/docs/openclaw-*.json5 <<'EOF_JS'
const fs = require('fs');
const path = require('path');
const Ajv = require('ajv');
const [manifestPath, ...files] = process.argv.slice(2);
let passed = 0, failed = 0;
const check = (ok, what) => { if (ok) passed++; else { failed++; console.log('FAIL', what); } };

const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(manifest.configSchema);
// JSON with full-line // comments, as the docs are written (so it is JSON5 too)
const load = (f) => JSON.parse(fs.readFileSync(f, 'utf8').split('\n')
  .filter((l) => !l.trimStart().startsWith('//')).join('\n'));

// What OpenClaw does with plugins.entries: keys are plugin ids; the config is the plugin's.
function problems(doc) {
  const out = [];
  const entries = doc.plugins && doc.plugins.entries;
  if (!entries || typeof entries !== 'object') return ['no plugins.entries'];
  for (const id of Object.keys(entries))
    if (id !== manifest.id) out.push(`plugins.entries.${id}: no plugin with that id (the GPU bridge is '${manifest.id}')`);
  const entry = entries[manifest.id];
  if (!entry) return out.concat([`no plugins.entries.${manifest.id}`]);
  for (const k of Object.keys(entry))
    if (!['enabled', 'config'].includes(k)) out.push(`plugins.entries.${manifest.id}.${k}: unknown key`);
  if ('enabled' in entry && typeof entry.enabled !== 'boolean') out.push('enabled is not a boolean');
  if (!validate(entry.config ?? {}))
    out.push(...validate.errors.map((e) => `config${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`));
  return out;
}

let oneHost = 0, several = 0;
check(files.length >= 2, `docs has OpenClaw configs (${files.length})`);
for (const f of files) {
  const doc = load(f);
  const p = problems(doc);
  check(p.length === 0, `${path.basename(f)}: ${p.join('; ')}`);
  const c = doc.plugins?.entries?.[manifest.id]?.config ?? {};
  const n = c.hosts ? c.hosts.length : (c.serviceUrl || c.url ? 1 : 0);
  if (n === 1) oneHost++;
  if (n >= 2) several++;
  console.log(`${path.basename(f)}: ${p.length ? 'INVALID' : 'valid'} against ${manifest.id} ${manifest.version} (${n} host${n === 1 ? '' : 's'})`);
}
check(oneHost >= 1 && several >= 1, `a one-host config (${oneHost}) and a several-host one (${several})`);

// the check itself: configs OpenClaw would refuse
const good = load(files.find((f) => f.endsWith('openclaw-hosts.json5')));
const bad = [
  ['the npm package name as the key', { plugins: { '@elvatis/openclaw-gpu-bridge': good.plugins.entries[manifest.id].config } }],
  ['an unknown strategy', { plugins: { entries: { [manifest.id]: { config: { hosts: [{ url: 'http://a' }], loadBalancing: 'fastest' } } } } }],
  ['a host without url', { plugins: { entries: { [manifest.id]: { config: { hosts: [{ name: 'a' }] } } } } }],
  ['an unknown key', { plugins: { entries: { [manifest.id]: { config: { serviceUrl: 'http://a', retries: 3 } } } } }],
  ['models.embedding (not embed)', { plugins: { entries: { [manifest.id]: { config: { serviceUrl: 'http://a', models: { embedding: 'x' } } } } } }],
  ['timeout as a string', { plugins: { entries: { [manifest.id]: { config: { serviceUrl: 'http://a', timeout: '45' } } } } }],
];
for (const [what, doc] of bad)
  check(problems(doc).length > 0, `refused: ${what}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
EOF_JS
