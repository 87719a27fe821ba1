// multihost_client.js CONFIG_JSON — drives the unchanged OpenClaw GPU-bridge client (v0.2.1,
// ../shared/clients) the way the plugin does, for tests/test_multihost_openclaw.sh and
// tests/test_deploy_nginx.sh. CONFIG_JSON: {client, config, calls, concurrency, texts,
// killPid, killUrl, killAfter, bertscore}. It makes `calls` tool calls (embed, every 4th a bertscore
// when asked), `concurrency` at a time; after `killAfter` answers it SIGKILLs killPid (the
// vkbridge serve at killUrl) at a moment when requests to it are in flight. fetch is wrapped to count, per host, the
// requests sent, in flight at the kill, and failed at the transport level. Prints one JSON
// line: {ok, failed, errors[], perHost{url: {sent, inFlightAtKill, transportErrors}}, ms}.
const cfg = JSON.parse(process.argv[2]);
const perHost = {};
const inflight = {};
const realFetch = globalThis.fetch;
globalThis.fetch = async (url, opts) => {
  const host = new URL(url).origin;
  const path = new URL(url).pathname;
  const h = (perHost[host] ??= { sent: 0, inFlightAtKill: 0, transportErrors: 0, byPath: {} });
  h.byPath[path] = (h.byPath[path] ?? 0) + 1;
  if (path !== '/health' && path !== '/info') h.sent += 1;
  inflight[host] = (inflight[host] ?? 0) + 1;
  try {
    return await realFetch(url, opts);
  } catch (e) {
    h.transportErrors += 1;
    throw e;
  } finally {
    inflight[host] -= 1;
  }
};
const { createTools } = require(cfg.client);
const tools = createTools(cfg.config);

async function main() {
  const t0 = Date.now();
  let next = 0, answered = 0, ok = 0, failed = 0, killed = false;
  const errors = [];
  const texts = cfg.texts;
  let firstEmbeddings, firstF1, maxDiff = 0;
  async function one(i) {
    const bert = cfg.bertscore && i % 4 === 3;
    const r = bert
      ? await tools.bertscore('call-' + i, { candidates: texts.slice(0, 2), references: texts.slice(2, 4) })
      : await tools.embed('call-' + i, { texts });
    const text = r.content[0].text;
    let good = !r.isError;
    if (good) {
      // every call sends the same texts, so every host must give the same numbers (up to
      // float rounding: the engine batches concurrent requests together, and BLAS sums in
      // another order for another batch shape)
      const body = JSON.parse(text);
      const numbers = (bert ? body.f1 : body.embeddings || []).flat();
      const first = bert ? (firstF1 ??= numbers) : (firstEmbeddings ??= numbers);
      good = bert ? body.f1 && body.f1.length === 2 : body.embeddings && body.embeddings.length === texts.length;
      const diff = Math.max(0, ...numbers.map((v, k) => Math.abs(v - first[k])));
      maxDiff = Math.max(maxDiff, diff);
      if (good && !(numbers.length === first.length && diff < 1e-4))
        errors.push(`call ${i}: numbers differ from the first answer by ${diff}`), good = false;
    }
    if (good) ok += 1;
    else { failed += 1; errors.push(text.slice(0, 300)); }
    answered += 1;
    // the kill waits for a moment when the victim (killUrl) has requests in flight
    if (cfg.killPid && !killed && answered >= cfg.killAfter && (inflight[cfg.killUrl] ?? 0) > 0) {
      killed = true;
      for (const [host, n] of Object.entries(inflight))
        if (perHost[host]) perHost[host].inFlightAtKill = n;
      process.kill(cfg.killPid, 'SIGKILL');
    }
  }
  async function worker() {
    while (next < cfg.calls) await one(next++);
  }
  await Promise.all(Array.from({ length: cfg.concurrency }, worker));
  console.log(JSON.stringify({ ok, failed, errors: errors.slice(0, 5), perHost, killed, maxDiff, ms: Date.now() - t0 }));
}
main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
