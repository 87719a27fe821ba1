// bench_hf_tokenizers.js — the Rust Hugging Face `tokenizers` library (through the npm
// binding @anush008/tokenizers) on the same texts as `vkbridge bench tokenize`, single
// threaded, for docs/PERF.md. Not part of the build; install the binding outside the repo:
//   cd /tmp/hf && npm install @anush008/tokenizers
//   TOKENIZERS_PARALLELISM=false RAYON_NUM_THREADS=1 NODE_PATH=/tmp/hf/node_modules \
//     node tools/bench_hf_tokenizers.js [TESTDATA] [MB] [ONLY]
// ONLY: run only the tokenizers whose name contains it (as `vkbridge bench tokenize --only`).
// encodeBatch runs in native code (one call per 1000 texts, so the JS boundary costs little);
// with TOKENIZERS_PARALLELISM=false it encodes sequentially. The first pass is untimed and
// checks every id against the golden, so both libraries provably do the same work.
'use strict';
const fs = require('fs');
const { Tokenizer } = require('@anush008/tokenizers');

const testdata = process.argv[2] || '../shared/testdata';
const mb = Number(process.argv[3] || 10);
const only = process.argv[4] || '';
const pairs = [
  ['bert-base-uncased', 'bert-base-uncased/tokenizer.json', 'golden-bert-base-uncased.jsonl'],
  ['roberta-base', 'roberta-base/tokenizer.json', 'golden-roberta-base.jsonl'],
  ['unigram-xlmr-like', 'unigram-xlmr-like/tokenizer.json', 'golden-unigram-xlmr-like.jsonl'],
  ['unigram-xlmr-like-legacy', 'unigram-xlmr-like-legacy/tokenizer.json',
    'golden-unigram-xlmr-like-legacy.jsonl'],
  ['unigram-deberta-v3-like', 'unigram-deberta-v3-like/tokenizer.json',
    'golden-unigram-deberta-v3-like.jsonl'],
  ['unigram-identity', 'unigram-identity/tokenizer.json', 'golden-unigram-identity.jsonl'],
  ['unigram-byte-fallback', 'unigram-byte-fallback/tokenizer.json',
    'golden-unigram-byte-fallback.jsonl'],
].filter(([name]) => name.includes(only));

async function run([name, tokPath, corpusPath]) {
  const tok = Tokenizer.fromFile(`${testdata}/tokenizers/${tokPath}`);
  const lines = fs.readFileSync(`${testdata}/tokenizers/${corpusPath}`, 'utf8')
    .split('\n').filter((l) => l.length).map((l) => JSON.parse(l));
  const texts = lines.map((l) => l.text);
  const bytes = texts.reduce((s, t) => s + Buffer.byteLength(t, 'utf8'), 0);
  const chunk = 1000;
  // Untimed pass: warms the BPE cache and checks parity with the golden ids.
  let mismatches = 0;
  for (let i = 0; i < texts.length; i += chunk) {
    const encs = await tok.encodeBatch(texts.slice(i, i + chunk), { addSpecialTokens: true });
    encs.forEach((e, k) => {
      const got = e.getIds();
      const want = lines[i + k].ids;
      if (got.length !== want.length || got.some((v, j) => v !== want[j])) mismatches++;
    });
  }
  const passes = Math.max(1, Math.ceil((mb * 1e6) / bytes));
  let tokens = 0;
  const t0 = process.hrtime.bigint();
  for (let p = 0; p < passes; p++) {
    for (let i = 0; i < texts.length; i += chunk) {
      const encs = await tok.encodeBatch(texts.slice(i, i + chunk), { addSpecialTokens: true });
      tokens += encs.length; // counted below from the golden (identical ids), outside the clock
    }
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  tokens = passes * lines.reduce((s, l) => s + l.ids.length, 0);
  return {
    tokenizer: name, library: 'tokenizers (Rust) via @anush008/tokenizers', texts: texts.length,
    passes, bytes: bytes * passes, tokens, seconds: secs, tokens_per_s: Math.round(tokens / secs),
    texts_per_s: Math.round((texts.length * passes) / secs), mb_per_s: (bytes * passes) / 1e6 / secs,
    golden_mismatches: mismatches,
  };
}

(async () => {
  const results = [];
  for (const p of pairs) results.push(await run(p));
  console.log(JSON.stringify({ bench: 'tokenize-hf', threads: 1, results }, null, 1));
})();
