// bench_modern.js is the peer of BenchmarkEncodeQwen3: it encodes the same
// text (the SOTU sample, then every string of modern_vectors.json.gz, joined
// by newlines) with Qwen3's tokenizer, as one string and one paragraph at a time, in HF tokenizers' Node binding (Rust)
// and in transformers.js (@lenml/tokenizers), and prints MB/s: the first
// (cold) run and the best of five warm runs (one for texts over 1 MB). A file given as second argument
// is encoded instead (BenchmarkEncodeQwen3 reads it from $TOKENIZER_BENCH_TEXT).
//
//   cd $(mktemp -d) && npm init -y && npm install tokenizers@0.23.2 @lenml/tokenizers@3.7.2
//   NODE_PATH=$PWD/node_modules node /path/to/tokenizer/testdata/gen/bench_modern.js /path/to/tokenizer/testdata
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const zlib = require("zlib");
const { Tokenizer } = require("tokenizers");
const { TokenizerLoader } = require("@lenml/tokenizers");

async function main() {
  const td = process.argv[2];
  const sample = zlib.gunzipSync(fs.readFileSync(path.join(td, "sotu-sample.txt.gz"))).toString("utf8");
  const vecs = JSON.parse(zlib.gunzipSync(fs.readFileSync(path.join(td, "modern_vectors.json.gz")))).qwen3;
  const text = process.argv[3] ? fs.readFileSync(process.argv[3], "utf8") : [sample].concat(vecs.map(v => v.text)).join("\n");
  const mb = Buffer.byteLength(text) / 1e6;
  const tj = zlib.gunzipSync(fs.readFileSync(path.join(td, "qwen3", "tokenizer.json.gz")));
  const tmp = path.join(os.tmpdir(), "bench-qwen3-tokenizer.json");
  fs.writeFileSync(tmp, tj);
  const rust = Tokenizer.fromFile(tmp);
  const js = TokenizerLoader.fromPreTrained({
    tokenizerJSON: JSON.parse(tj.toString("utf8")),
    tokenizerConfig: JSON.parse(fs.readFileSync(path.join(td, "qwen3", "tokenizer_config.json"), "utf8")),
  });
  const paras = text.split("\n\n");
  const runs = {
    "HF tokenizers (Rust, Node binding)": async () => (await rust.encode(text, null, { addSpecialTokens: false })).getIds().length,
    "transformers.js (@lenml/tokenizers)": async () => js.encode(text, { add_special_tokens: false }).length,
    "HF tokenizers, per paragraph (encodeBatch, Rust threads)": async () =>
      (await rust.encodeBatch(paras, { addSpecialTokens: false })).reduce((n, e) => n + e.getIds().length, 0),
    "transformers.js, per paragraph": async () => paras.reduce((n, p) => n + js.encode(p, { add_special_tokens: false }).length, 0),
  };
  for (const [name, f] of Object.entries(runs)) {
    let t0 = process.hrtime.bigint();
    const n = await f();
    const cold = Number(process.hrtime.bigint() - t0) / 1e9;
    let best = Infinity;
    for (let i = 0; i < (mb > 1 ? 1 : 5); i++) {
      t0 = process.hrtime.bigint();
      await f();
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
    }
    console.log(`${name}: ${n} ids, ${mb.toFixed(3)} MB, cold ${(mb / cold).toFixed(2)} MB/s, warm ${(mb / best).toFixed(2)} MB/s`);
  }
}
main().catch(e => { console.error(e); process.exit(1); });
