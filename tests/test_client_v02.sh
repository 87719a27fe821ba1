#!/usr/bin/env bash
# test_client_v02.sh BINARY TESTDATA BUILD_DIR — the OpenClaw GPU-bridge plugin v0.2.1, unchanged
# (its dist/tools.js under node), against the real `vkbridge serve`, configured the way a new
# user would: MODEL_BERTSCORE a local folder outside bert_score's layer table (tiny-roberta)
# with VKB_BERTSCORE_LAYERS, and the plugin's models.bertscore / models.embed set to the same
# names. The plugin cannot send num_layers; its gpu_bertscore must still get bert_score's
# numbers at the configured layer (oracle tiny-roberta.json, case L1-noidf-raw), and its
# gpu_embed with no texts must get the v0.2 answer {"embeddings": [], "dimensions": 0}.
# SKIP without node, the testdata or the client (without node or, with ../shared there, the
# others: a failure under VKB_REQUIRE_ALL=1, as in CI: tests/skiplib.sh).
set -euo pipefail
BINARY=$1 TESTDATA=$2
. "$(dirname "$0")/skiplib.sh"
CLIENT=$TESTDATA/../clients/openclaw-gpu-bridge-0.2.1
command -v node >/dev/null || vkb_skip "v0.2 client: no node (tools/install-deps.sh)"
if [ ! -d "$TESTDATA/models" ] || [ ! -f "$CLIENT/dist/tools.js" ]; then
  vkb_skip_shared "v0.2 client: needs the testdata and $CLIENT/dist/tools.js"
fi
exec node - "$BINARY" "$TESTDATA" "$CLIENT" <<'EOF'
const [binary, testdata, clientDir] = process.argv.slice(2);
const { spawn } = require("child_process");
const fs = require("fs");
const { createTools } = require(clientDir + "/dist/tools.js");
let passed = 0, failed = 0;
const check = (ok, what) => { if (ok) passed++; else { failed++; console.log("FAIL " + what); } };

const oracle = JSON.parse(fs.readFileSync(testdata + "/oracle/tiny-roberta.json", "utf8"));
const kase = oracle.bertscore.cases.find((c) => c.name === "L1-noidf-raw");

function serve(env) {
  const proc = spawn(binary, ["serve", "--port", "0", "--device", "cpu"], {
    env: Object.assign({}, process.env, {
      VKB_MODEL_DIR: testdata + "/models", MODEL_EMBED: "tiny-bert", API_KEY: "",
      VKB_LOG_LEVEL: "warn"}, env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  proc.stderr.on("data", (d) => { err += d; });
  return new Promise((resolve) => {
    let out = "";
    proc.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on http:\/\/[^:]+:(\d+)/);
      if (m) resolve({ proc, port: m[1], err: () => err });
    });
    proc.on("exit", (code) => resolve({ proc: null, code, err: () => err }));
  });
}

async function waitReady(port) {
  for (let i = 0; i < 600; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/health`);
      if (r.status === 200) return true;
    } catch (e) { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

(async () => {
  // Without a layer the service refuses the model at start-up, in one line.
  const refused = await serve({ MODEL_BERTSCORE: "tiny-roberta" });
  check(refused.proc === null && refused.code === 2 &&
        /MODEL_BERTSCORE 'tiny-roberta' is not in bert_score's num_layers table.*--bertscore-layers/.test(refused.err()) &&
        refused.err().trim().split("\n").length === 1,
        `no layer configured: exit ${refused.code}, stderr ${JSON.stringify(refused.err())}`);
  if (refused.proc) refused.proc.kill("SIGKILL");

  const s = await serve({ MODEL_BERTSCORE: "tiny-roberta", VKB_BERTSCORE_LAYERS: "1" });
  check(s.proc !== null, `server starts (exit ${s.code}: ${s.err()})`);
  if (!s.proc) { console.log(`${passed} passed, ${failed} failed`); process.exit(1); }
  check(await waitReady(s.port), "/health 200");
  const tools = createTools({ hosts: [{ url: `http://127.0.0.1:${s.port}` }],
                              models: { embed: "tiny-bert", bertscore: "tiny-roberta" } });

  const res = await tools.bertscore("call-1", { candidates: kase.request.candidates,
                                                references: kase.request.references });
  let body = null;
  try { body = JSON.parse(res.content[0].text); } catch (e) { /* an error text */ }
  let worst = Infinity;
  if (body && Array.isArray(body.f1) && body.f1.length === kase.F.length) {
    worst = 0;
    for (const [key, want] of [["precision", kase.P], ["recall", kase.R], ["f1", kase.F]])
      want.forEach((w, j) => { worst = Math.max(worst, Math.abs(body[key][j] - w)); });
  }
  check(!res.isError && worst <= 1e-4,
        `gpu_bertscore without num_layers equals bert_score at layer 1 (worst ${worst}): ${res.content[0].text.slice(0, 300)}`);

  const empty = await tools.embed("call-2", { texts: [] });
  let e = null;
  try { e = JSON.parse(empty.content[0].text); } catch (x) { /* an error text */ }
  check(!empty.isError && e && Array.isArray(e.embeddings) && e.embeddings.length === 0 &&
        e.dimensions === 0 && e.model === "tiny-bert",
        `gpu_embed with no texts: ${empty.content[0].text.slice(0, 300)}`);
  const one = await tools.embed("call-3", { texts: ["hello world"] });
  let o = null;
  try { o = JSON.parse(one.content[0].text); } catch (x) { /* an error text */ }
  check(!one.isError && o && o.dimensions === 32 && o.embeddings.length === 1,
        `gpu_embed of one text: ${one.content[0].text.slice(0, 200)}`);

  s.proc.kill("SIGTERM");
  const code = await new Promise((r) => s.proc.on("exit", (c) => r(c)));
  check(code === 0, `SIGTERM: exit ${code}`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})();
EOF
