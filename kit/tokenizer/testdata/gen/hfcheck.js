// hfcheck.js encodes test strings with HF tokenizers' Node binding (the Rust
// library behind transformers' fast tokenizers) and writes hf_vectors.json,
// which package tokenizer's tests compare against. It checks that HF loads the
// tokenizer.json files that tokenizer.Save writes: our trained fixture
// (testdata/trained) and GPT-2 re-saved by Save.
//
//   npm install tokenizers@0.23.2   (in some scratch dir)
//   go run ./kit/tokenizer/testdata/gen/savegpt2 /tmp/gpt2tok     (from the repo root)
//   NODE_PATH=.../node_modules node kit/tokenizer/testdata/gen/hfcheck.js kit/tokenizer/testdata /tmp/gpt2tok/tokenizer.json
"use strict";
const fs = require("fs");
const path = require("path");
const { Tokenizer } = require("tokenizers");

async function main() {
  const [td, gpt2JSON] = process.argv.slice(2);
  const vectors = JSON.parse(fs.readFileSync(path.join(td, "vectors.json"))).encode;
  const zlib = require("zlib");
  const sample = zlib.gunzipSync(fs.readFileSync(path.join(td, "sotu-sample.txt.gz"))).toString("utf8");
  const sentences = sample.split(/(?<=\. )/).slice(0, 300);
  const texts = vectors.map(v => v.text).concat(sentences);
  const out = {};
  for (const [name, file] of [["trained", path.join(td, "trained", "tokenizer.json")], ["gpt2", gpt2JSON]]) {
    const tok = Tokenizer.fromFile(file);
    out[name] = [];
    for (const text of texts) {
      const enc = await tok.encode(text, null, { addSpecialTokens: false });
      const ids = enc.getIds();
      const back = await tok.decode(ids, false);
      if (back !== text) { console.error(name, "HF decode does not round-trip", JSON.stringify(text), JSON.stringify(back)); process.exit(1); }
      out[name].push({ text, ids });
    }
  }
  // GPT-2 through HF must agree with js-tiktoken (special tokens allowed).
  vectors.forEach((v, i) => {
    if (JSON.stringify(v.ids_special) !== JSON.stringify(out.gpt2[i].ids)) {
      console.error("HF and js-tiktoken disagree on", JSON.stringify(v.text)); process.exit(1);
    }
  });
  fs.writeFileSync(path.join(td, "hf_vectors.json"), JSON.stringify(out) + "\n");
  console.error(`wrote ${out.trained.length} + ${out.gpt2.length} HF vectors`);
}
main().catch(e => { console.error(e); process.exit(1); });
