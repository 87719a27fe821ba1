// gguf_from_hf.mjs MODEL_DIR OUT.gguf — a BERT-family Hugging Face folder (config.json,
// model.safetensors with F32 tensors, vocab.txt) as a GGUF file llama.cpp loads as "bert", so
// tools/gpu-check.sh runs llama.cpp on the very weights vkbridge runs (the MiniLM shape from
// `vkbridge gen-model --shape minilm`). Plain node, no packages: llama.cpp's own converter
// (convert_hf_to_gguf.py) needs the `gguf` package from PyPI, which this project may not use.
//
// GGUF v3, as llama.cpp's gguf.cpp reads it: magic "GGUF", version, tensor count, key/value
// count; key/values (string key, u32 type, value); tensor infos (name, n_dims, ne[] innermost
// first, ggml type, offset from the data start); data aligned to general.alignment (32).
// A PyTorch Linear weight (out, in) row-major is ggml's ne = [in, out]: the same bytes.
import fs from "node:fs";
import path from "node:path";

const [dir, outPath] = process.argv.slice(2);
if (!dir || !outPath) {
    console.error("usage: node gguf_from_hf.mjs MODEL_DIR OUT.gguf");
    process.exit(2);
}
const cfg = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"));
if (cfg.model_type !== "bert") throw new Error(`model_type ${cfg.model_type}: only bert is written`);
const st = fs.readFileSync(path.join(dir, "model.safetensors"));
const headerLen = Number(st.readBigUInt64LE(0));
const header = JSON.parse(st.subarray(8, 8 + headerLen).toString("utf8"));
const dataStart = 8 + headerLen;
const vocab = fs.readFileSync(path.join(dir, "vocab.txt"), "utf8").split("\n");
if (vocab[vocab.length - 1] === "") vocab.pop();

function tensor(name) {
    const t = header[name] ?? header["bert." + name];
    if (!t) throw new Error(`${dir}: no tensor ${name}`);
    if (t.dtype !== "F32") throw new Error(`${name}: ${t.dtype} (F32 only)`);
    return { shape: t.shape, bytes: st.subarray(dataStart + t.data_offsets[0], dataStart + t.data_offsets[1]) };
}

const tensors = []; // {name, shape (PyTorch order), bytes}
function add(ggufName, hfName) { tensors.push({ name: ggufName, ...tensor(hfName) }); }
add("token_embd.weight", "embeddings.word_embeddings.weight");
add("position_embd.weight", "embeddings.position_embeddings.weight");
add("token_types.weight", "embeddings.token_type_embeddings.weight");
add("token_embd_norm.weight", "embeddings.LayerNorm.weight");
add("token_embd_norm.bias", "embeddings.LayerNorm.bias");
for (let l = 0; l < cfg.num_hidden_layers; l++) {
    const p = `encoder.layer.${l}.`, b = `blk.${l}.`;
    for (const [g, h] of [["attn_q", "attention.self.query"], ["attn_k", "attention.self.key"],
                          ["attn_v", "attention.self.value"], ["attn_output", "attention.output.dense"],
                          ["attn_output_norm", "attention.output.LayerNorm"],
                          ["ffn_up", "intermediate.dense"], ["ffn_down", "output.dense"],
                          ["layer_output_norm", "output.LayerNorm"]]) {
        add(b + g + ".weight", p + h + ".weight");
        add(b + g + ".bias", p + h + ".bias");
    }
}

const id = (tok, dflt) => { const i = vocab.indexOf(tok); return i >= 0 ? i : dflt; };
const T = { U32: 4, I32: 5, F32: 6, BOOL: 7, STRING: 8, ARRAY: 9 };
const kv = [
    ["general.architecture", T.STRING, "bert"],
    ["general.name", T.STRING, path.basename(path.resolve(dir))],
    ["general.alignment", T.U32, 32],
    ["bert.context_length", T.U32, cfg.max_position_embeddings],
    ["bert.embedding_length", T.U32, cfg.hidden_size],
    ["bert.feed_forward_length", T.U32, cfg.intermediate_size],
    ["bert.block_count", T.U32, cfg.num_hidden_layers],
    ["bert.attention.head_count", T.U32, cfg.num_attention_heads],
    ["bert.attention.layer_norm_epsilon", T.F32, cfg.layer_norm_eps ?? 1e-12],
    ["bert.attention.causal", T.BOOL, false],
    ["bert.pooling_type", T.U32, 1], // mean, as sentence-transformers' MiniLM pools
    ["tokenizer.ggml.model", T.STRING, "bert"],
    // llama.cpp's WordPiece marks word starts with U+2581 instead of marking continuations
    // with "##" (what its converter does to vocab.txt); [special] tokens stay as they are.
    ["tokenizer.ggml.tokens", T.ARRAY, [T.STRING, vocab.map((t) =>
        /^\[.*\]$/.test(t) ? t : t.startsWith("##") ? t.slice(2) : "\u2581" + t)]],
    ["tokenizer.ggml.token_type", T.ARRAY, [T.I32, vocab.map((t) => (/^\[.*\]$/.test(t) ? 3 : 1))]],
    ["tokenizer.ggml.token_type_count", T.U32, cfg.type_vocab_size ?? 2],
    ["tokenizer.ggml.unknown_token_id", T.U32, id("[UNK]", 100)],
    ["tokenizer.ggml.seperator_token_id", T.U32, id("[SEP]", 102)],
    ["tokenizer.ggml.padding_token_id", T.U32, id("[PAD]", 0)],
    ["tokenizer.ggml.cls_token_id", T.U32, id("[CLS]", 101)],
    ["tokenizer.ggml.mask_token_id", T.U32, id("[MASK]", 103)],
    ["tokenizer.ggml.bos_token_id", T.U32, id("[CLS]", 101)],
    ["tokenizer.ggml.eos_token_id", T.U32, id("[SEP]", 102)],
    ["tokenizer.ggml.add_bos_token", T.BOOL, true], // [CLS] ... [SEP], as BERT's post-processor
    ["tokenizer.ggml.add_eos_token", T.BOOL, true],
];

const parts = [];
const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); parts.push(b); };
const i32 = (v) => { const b = Buffer.alloc(4); b.writeInt32LE(v); parts.push(b); };
const u64 = (v) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); parts.push(b); };
const f32 = (v) => { const b = Buffer.alloc(4); b.writeFloatLE(v); parts.push(b); };
const str = (s) => { const b = Buffer.from(s, "utf8"); u64(b.length); parts.push(b); };
function value(type, v) {
    if (type === T.U32) u32(v);
    else if (type === T.I32) i32(v);
    else if (type === T.F32) f32(v);
    else if (type === T.BOOL) parts.push(Buffer.from([v ? 1 : 0]));
    else if (type === T.STRING) str(v);
    else if (type === T.ARRAY) { const [et, items] = v; u32(et); u64(items.length); for (const x of items) value(et, x); }
}
parts.push(Buffer.from("GGUF", "ascii"));
u32(3);
u64(tensors.length);
u64(kv.length);
for (const [k, type, v] of kv) { str(k); u32(type); value(type, v); }
let offset = 0;
const align = (n) => Math.ceil(n / 32) * 32;
for (const t of tensors) {
    str(t.name);
    u32(t.shape.length);
    for (const d of [...t.shape].reverse()) u64(d);
    u32(0); // GGML_TYPE_F32
    u64(offset);
    offset = align(offset + t.bytes.length);
}
let head = Buffer.concat(parts);
const out = fs.openSync(outPath, "w");
fs.writeSync(out, head);
fs.writeSync(out, Buffer.alloc(align(head.length) - head.length));
for (const t of tensors) {
    fs.writeSync(out, t.bytes);
    fs.writeSync(out, Buffer.alloc(align(t.bytes.length) - t.bytes.length));
}
fs.closeSync(out);
console.log(`${outPath}: ${tensors.length} tensors, ${vocab.length} tokens`);
