// bench_peer.js times GPT-2 encoding of the same text as BenchmarkEncode
// (testdata/sotu-sample.txt.gz, ~100 KB) with HF tokenizers (Rust, Node
// binding) and tiktoken (Rust compiled to WASM), single-threaded, warm, and
// prints MB/s medians. HF loads the tokenizer.json that tokenizer.Save writes.
//
//   npm install tokenizers@0.23.2 tiktoken@1.0.22   (in some scratch dir)
//   go run ./kit/tokenizer/testdata/gen/savegpt2 /tmp/gpt2tok
//   RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false NODE_PATH=.../node_modules \
//     node kit/tokenizer/testdata/gen/bench_peer.js kit/tokenizer/testdata /tmp/gpt2tok/tokenizer.json
"use strict";
const fs = require("fs");
const path = require("path");
const zlib = require("zlib");

async function main() {
  const [td, gpt2JSON] = process.argv.slice(2);
  const text = zlib.gunzipSync(fs.readFileSync(path.join(td, "sotu-sample.txt.gz"))).toString("utf8");
  const mb = Buffer.byteLength(text) / 1e6;
  const median = a => a.slice().sort((x, y) => x - y)[a.length >> 1];
  async function time(name, f, reps = 15) {
    await f(); // warm up (caches, JIT)
    const rates = [];
    for (let i = 0; i < reps; i++) {
      const t0 = process.hrtime.bigint();
      const n = await f();
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      rates.push(mb / s);
      if (i === 0) console.log(`${name}: ${n} tokens`);
    }
    console.log(`${name}: median ${median(rates).toFixed(1)} MB/s (min ${Math.min(...rates).toFixed(1)}, max ${Math.max(...rates).toFixed(1)})`);
  }
  const { Tokenizer } = require("tokenizers");
  const hf = Tokenizer.fromFile(gpt2JSON);
  await time("HF tokenizers 0.23.2", async () => (await hf.encode(text, null, { addSpecialTokens: false })).getIds().length);
  const { get_encoding } = require("tiktoken");
  const tt = get_encoding("gpt2");
  await time("tiktoken 1.0.22 (WASM)", async () => tt.encode_ordinary(text).length);
  const { getEncoding } = require("js-tiktoken");
  const jt = getEncoding("gpt2");
  await time("js-tiktoken 1.0.21", async () => jt.encode(text, [], []).length, 5);
}
main().catch(e => { console.error(e); process.exit(1); });
