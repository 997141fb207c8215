// tokenize.js completes warm-chat-rendered.json (in the temp directory) (Python jinja2's renderings, written by
// render.py) into ../conversations.json: the token ids of each rendered text
// from HF tokenizers' Node binding (the Rust library transformers uses),
// tokenized with add_special_tokens=False as apply_chat_template(tokenize=True)
// does. As a second opinion it renders each conversation with
// @huggingface/jinja (transformers.js's engine) and records its text as
// "js_text" where it differs from Python's.
//
//   cd $(mktemp -d) && npm init -y && npm install tokenizers@0.23.2 @huggingface/jinja@0.5.11
//   python3 kit/chattemplate/testdata/gen/render.py
//   NODE_PATH=$PWD/node_modules node kit/chattemplate/testdata/gen/tokenize.js    (from the repository root)
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const zlib = require("zlib");
const { Tokenizer } = require("tokenizers");
const { Template } = require("@huggingface/jinja");

const here = __dirname;
const tokdata = path.join(here, "..", "..", "..", "tokenizer", "testdata");

async function main() {
  const rendered = JSON.parse(fs.readFileSync(path.join(os.tmpdir(), "warm-chat-rendered.json"), "utf8"));
  const out = {};
  for (const [name, data] of Object.entries(rendered)) {
    const tj = zlib.gunzipSync(fs.readFileSync(path.join(tokdata, data.tokenizer, "tokenizer.json.gz")));
    const tmp = path.join(os.tmpdir(), `chat-${name}-tokenizer.json`);
    fs.writeFileSync(tmp, tj);
    const tok = Tokenizer.fromFile(tmp);
    const cfg = JSON.parse(fs.readFileSync(path.join(tokdata, data.tokenizer, "tokenizer_config.json"), "utf8"));
    const tmpl = new Template(data.template || cfg.chat_template);
    let differ = 0;
    for (const c of data.cases) {
      c.ids = (await tok.encode(c.text, null, { addSpecialTokens: false })).getIds();
      let js;
      try {
        js = tmpl.render({ messages: c.messages, add_generation_prompt: c.add_generation_prompt, ...data.special_tokens, ...(c.extra || {}) });
      } catch (e) {
        js = "error: " + e.message;
      }
      if (js !== c.text) { c.js_text = js; differ++; }
    }
    console.error(`${name}: ${data.cases.length} conversations, @huggingface/jinja differs on ${differ}`);
    out[name] = data;
  }
  fs.writeFileSync(path.join(here, "..", "conversations.json"), JSON.stringify(out, null, 1) + "\n");
}
main().catch(e => { console.error(e); process.exit(1); });
