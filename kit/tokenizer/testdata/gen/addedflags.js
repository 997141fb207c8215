// addedflags.js writes added_flags.json: HF tokenizers' (Rust, Node binding)
// ids for a few texts under testdata/trained/tokenizer.json with its added
// token <|endoftext|> given the AddedToken flags lstrip, rstrip, both, or
// single_word. TestAddedFlagsHF applies the same flags and compares.
//
//   cd $(mktemp -d) && npm init -y && npm install tokenizers@0.23.2
//   NODE_PATH=$PWD/node_modules node /path/to/tokenizer/testdata/gen/addedflags.js /path/to/tokenizer/testdata
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { Tokenizer } = require("tokenizers");

const td = process.argv[2];
const base = JSON.parse(fs.readFileSync(path.join(td, "trained", "tokenizer.json"), "utf8"));
const inputs = ["a <|endoftext|> b", "a  <|endoftext|>  b", "a\t\n<|endoftext|>\n b", "<|endoftext|>  <|endoftext|>",
  "x<|endoftext|>y", " <|endoftext|>", "1<|endoftext|>2", "\u00a0<|endoftext|>\u3000z"];
const variants = { plain: {}, lstrip: { lstrip: true }, rstrip: { rstrip: true }, both: { lstrip: true, rstrip: true }, single_word: { single_word: true } };
(async () => {
  const out = {};
  for (const [name, flags] of Object.entries(variants)) {
    const tj = JSON.parse(JSON.stringify(base));
    Object.assign(tj.added_tokens[0], flags);
    const file = path.join(os.tmpdir(), `addedflags-${name}.json`);
    fs.writeFileSync(file, JSON.stringify(tj));
    const tok = Tokenizer.fromFile(file);
    out[name] = { flags, ids: [] };
    for (const s of inputs) out[name].ids.push((await tok.encode(s, null, { addSpecialTokens: false })).getIds());
  }
  fs.writeFileSync(path.join(td, "added_flags.json"), JSON.stringify({ inputs, variants: out }, null, 1) + "\n");
})();
