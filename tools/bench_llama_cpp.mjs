// bench_llama_cpp.mjs vulkan|cuda|cpu MODEL.gguf W1.json [REF.json] — llama.cpp as a peer: embeddings of
// the W1 sentences with node-llama-cpp's prebuilt llama.cpp (packages @node-llama-cpp/linux-x64,
// -vulkan, -cuda; NODE_PATH must reach node-llama-cpp), on a GGUF of the same MiniLM-shape
// model vkbridge benches (tools/gguf_from_hf.mjs). Prints one JSON object
// {"results": [{what, time, rate, ...}]}: load time, then W2-style one-sentence latency and
// W1 throughput (node-llama-cpp embeds one text per call, so throughput is sequential).
// REF.json: `vkbridge embed` of W2_TEXT on the same model; the result then says how far
// llama.cpp's vector is from it (same weights: the cosine must be ~1). Used by tools/gpu-check.sh.
import fs from "node:fs";
import { createRequire } from "node:module";

const [flavour, model, w1Path, refPath] = process.argv.slice(2);
const W2_TEXT = "The quick brown fox jumps over the lazy dog by the river.";
const require = createRequire(import.meta.url);
const { getLlama } = await import(require.resolve("node-llama-cpp"));
// W1 is in ../shared/peers (not on every machine): 256 made-up sentences of ~30 words otherwise.
const words = "the model reads each sentence once and writes one vector of numbers for it so that".split(" ");
const texts = w1Path && fs.existsSync(w1Path) ? JSON.parse(fs.readFileSync(w1Path, "utf8"))
    : Array.from({ length: 256 }, (_, i) => Array.from({ length: 30 }, (_, j) => words[(i * 7 + j * 3) % words.length]).join(" "));

const t0 = performance.now();
// build "never": only the prebuilt binaries (a bare machine has no toolchain for llama.cpp);
// gpu false is llama.cpp's CPU build.
let llama;
try {
    llama = await getLlama({ gpu: flavour === "cpu" ? false : flavour, build: "never",
                             logLevel: "error" });
} catch (e) {
    // e.g. CUDA without the NVIDIA driver's libcuda: the prebuilt's test process fails.
    console.error(`llama.cpp ${flavour}: no usable prebuilt binary on this machine (${e.name}: ` +
                  `node-llama-cpp's ${flavour} build did not load)`);
    process.exit(1);
}
const m = await llama.loadModel({ modelPath: model, gpuLayers: flavour === "cpu" ? 0 : "max" });
const ctx = await m.createEmbeddingContext({ contextSize: 512 });
const loadMs = performance.now() - t0;
const gpuName = (await llama.getGpuDeviceNames?.())?.join(", ") ?? "";

await ctx.getEmbeddingFor(texts[0]); // warm-up
let t = performance.now();
const one = await ctx.getEmbeddingFor(W2_TEXT);
const w2Ms = performance.now() - t;
t = performance.now();
let n = 0;
const deadline = t + 20000; // at most 20 s of W1
for (const s of texts) {
    await ctx.getEmbeddingFor(s);
    n++;
    if (performance.now() > deadline) break;
}
const w1S = (performance.now() - t) / 1000;
let agreement = "";
if (refPath && fs.existsSync(refPath)) {
    const a = [...one.vector], b = JSON.parse(fs.readFileSync(refPath, "utf8")).embeddings[0];
    const dot = (x, y) => x.reduce((acc, v, i) => acc + v * y[i], 0);
    agreement = `cosine with vkbridge ${(dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b))).toFixed(7)}`;
}
const results = [
    { what: `llama.cpp ${flavour} (${llama.gpu || "cpu"}${gpuName ? ": " + gpuName : ""}) load`,
      time: `${loadMs.toFixed(0)} ms`, rate: "" },
    { what: `llama.cpp ${flavour} W2 (one sentence)`, time: `${w2Ms.toFixed(2)} ms`,
      rate: `dim ${one.vector.length}${agreement ? ", " + agreement : ""}` },
    { what: `llama.cpp ${flavour} W1 (${n} sentences, one per call)`, time: `${w1S.toFixed(2)} s`,
      rate: `${(n / w1S).toFixed(1)} sentences/s` },
];
console.log(JSON.stringify({ bench: "llama.cpp", flavour, backend: llama.gpu, gpus: gpuName,
                             model, results }, null, 1));
await ctx.dispose();
await m.dispose();
await llama.dispose();
