// gen.js writes GPT-2 test vectors for package tokenizer from two independent
// JavaScript GPT-2 encoders, js-tiktoken (r50k_base/gpt2) and gpt-3-encoder
// (OpenAI's encoder.json + vocab.bpe). They must agree on every string; the
// script fails if they do not.
//
//   cd $(mktemp -d) && npm init -y && npm install js-tiktoken@1.0.21 gpt-3-encoder@1.1.4
//   NODE_PATH=$PWD/node_modules node /path/to/tokenizer/testdata/gen/gen.js /path/to/tokenizer/testdata
//
// It writes vectors.json and copies gpt-3-encoder's encoder.json/vocab.bpe to
// gpt2/vocab.json.gz and gpt2/merges.txt.gz (gzip).
//
// Strings avoid U+0085 and U+FEFF: JavaScript's \s disagrees with Unicode
// White_Space (used by OpenAI's Python regex, HF tokenizers and Go) on those two.
"use strict";
const fs = require("fs");
const path = require("path");
const zlib = require("zlib");
const { getEncoding } = require("js-tiktoken");
const g3 = require("gpt-3-encoder");

const out = process.argv[2];
if (!out) { console.error("usage: gen.js OUTDIR"); process.exit(2); }
const enc = getEncoding("gpt2");

const fixed = [
  "", " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n ", "a", " a", "  a", "   a", "a ", "a  ", "a   ",
  "Hello, world!", "Hello world", "hello  world", "hello\tworld", "hello\t\tworld", "hello \tworld",
  "hello\n\nworld", "hello \n world", "trailing spaces   ", "   leading spaces", "\t\tindent",
  "It's", "it's", "IT'S", "It'S", "we're", "WE'RE", "I've", "I'm", "you'll", "he'd", "'s", "'t", "'re",
  "don't", "DON'T", "rock 'n' roll", "'''", "''s", "?'s", "x's's", "O'Neil's", "ʼs", "’s", "isn’t",
  "123", "1234567890", " 42", "3.14159", "1,000,000", "-5", "+7e10", "0x1F", "v1.2.3", "2026-11-26",
  "½ ¾ ² ³ ⅓", "Ⅻ Ⅳ", "١٢٣", "１２３", "٣.١٤",
  "café", "naïve", "résumé", "Ångström", "e\u0301", "cafe\u0301 ", "n\u0303o", "a\u0300\u0301\u0302b",
  "日本語のテキスト", "中文 文本", "한국어 텍스트", "Привет, мир!", "Γειά σου κόσμε", "שלום עולם", "مرحبا بالعالم",
  "हिन्दी पाठ", "ภาษาไทย", "ქართული",
  "😀", "😀😀", " 😀", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷🇩🇪", "❤️", "I ❤ NY", "☃", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𝟙𝟚𝟛", "\u{10FFFF}x",
  "<|endoftext|>", "hello <|endoftext|> world", "<|endoftext|><|endoftext|>", "a<|endoftext|>b",
  "<|endoftext", "|endoftext|>", "<|endoftext|>\n",
  "func main() {\n\tfmt.Println(\"hi\")\n}\n", "for (int i = 0; i < n; i++) { x += y[i]; }",
  "def f(x):\n    return x ** 2\n", "    indented code\n        more", "if a==b&&c!=d||e>=f:",
  "https://example.com/path?q=1&r=2#frag", "user@example.com", "C:\\Users\\name\\file.txt",
  "<div class=\"x\">text</div>", "{\"key\": [1, 2, 3], \"v\": null}", "$$\\int_0^1 x^2 dx$$",
  "...", "!!!???", "—–-", "«quoted»", "“smart quotes”", "¿Qué?", "¡Hola!", "#hashtag @mention",
  "\u00a0", "a\u00a0b", "a\u00a0 b", "a \u00a0b", "\u3000全角", "a\u2009b", "a\u2028b", "x\u200by", "x\u200dy",
  "\u000b\u000c", "a\u000bb", "\r", "\r\r\n\n", "line1\nline2\n\n\nline5", "  \n  \n  ",
  "The quick brown fox jumps over the lazy dog.", "THE QUICK BROWN FOX", "ThIs Is MiXeD cAsE",
  "supercalifragilisticexpialidocious", "Pneumonoultramicroscopicsilicovolcanoconiosis",
  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "ababababababababababab", "          ",
  "\ud55c\uae00", "tab\there", "mixed \t \n whitespace \t", "end with newline\n", "\n\nstart with newlines",
  "Mr. Smith's dog's bone.", "I said, \"It's fine.\"", "Rock'n'roll", "5'11\"", "'quoted'",
];

// Deterministic pseudo-random strings from an alphabet of interesting pieces.
let seed = 12345;
function rnd(n) { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; }
const pieces = [
  "a", "b", "e", "t", "the", "The", "ing", "Z", "q", "é", "ß", "Ω", "ж", "中", "語", "한", "ا", "क", "ि", "\u0301",
  "0", "1", "9", "42", "²", "Ⅻ", "٣", " ", " ", " ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000",
  ".", ",", "!", "?", "'", "'s", "'S", "'ll", "\"", "-", "_", "(", ")", "{", "}", "<", ">", "|", "/", "\\",
  "😀", "👍🏽", "‍", "🇯🇵", "€", "$", "%", "&", "*", "#", "@", "<|endoftext|>", "~", "`", "^",
];
const randoms = [];
for (let i = 0; i < 260; i++) {
  let s = "";
  const n = 1 + rnd(i < 200 ? 12 : 40);
  for (let j = 0; j < n; j++) s += pieces[rnd(pieces.length)];
  randoms.push(s);
}
// A long-ish prose passage.
const prose = "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness, " +
  "it was the epoch of belief, it was the epoch of incredulity, it was the season of Light, it was the season of Darkness...\n\n" +
  "  \"Well,\" said he, 'I'll tell you: 1,234 apples & 56.7% oranges!'  \n\tEnd.   ";

const texts = fixed.concat(randoms, [prose]);
const vectors = [];
for (const text of texts) {
  const a = enc.encode(text, [], []);
  const b = g3.encode(text);
  if (JSON.stringify(a) !== JSON.stringify(b)) {
    console.error("js-tiktoken and gpt-3-encoder disagree on", JSON.stringify(text), a, b);
    process.exit(1);
  }
  const special = enc.encode(text, "all");
  if (enc.decode(a) !== text) { console.error("round trip failed", JSON.stringify(text)); process.exit(1); }
  vectors.push({ text, ids: a, ids_special: special });
}

// Decode vectors with invalid UTF-8: single byte tokens and pieces of
// multi-byte characters, decoded with WHATWG TextDecoder (replacement per
// maximal subpart, like Python's errors="replace" and Rust's from_utf8_lossy).
const decodes = [];
const byteTokens = [];
for (let t = 0; t < 256; t++) byteTokens.push(t); // ids 0..255 are the 256 single bytes
const someIds = [[447], [447, 247], [247, 447], [171, 171], [32, 447, 99], [9362, 19526], [19526, 254],
  [171, 119, 123], [40, 1101, 447]];
for (let i = 0; i < 60; i++) {
  const n = 1 + rnd(6);
  const ids = [];
  for (let j = 0; j < n; j++) ids.push(rnd(3) === 0 ? rnd(50256) : byteTokens[rnd(256)]);
  someIds.push(ids);
}
// Decode by hand with GPT-2's byte table and encoder.json, keeping a leading
// BOM (TextDecoder strips it unless ignoreBOM; Python and Rust keep it).
const g3dir = path.dirname(require.resolve("gpt-3-encoder/package.json"));
const encoderJSON = JSON.parse(fs.readFileSync(path.join(g3dir, "encoder.json")));
const idToToken = {};
for (const [k, v] of Object.entries(encoderJSON)) idToToken[v] = k;
const charToByte = {};
{
  const bs = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) { bs.push(b); cs.push(256 + n); n++; }
  bs.forEach((b, i) => { charToByte[String.fromCharCode(cs[i])] = b; });
}
const lossy = new TextDecoder("utf-8", { ignoreBOM: true });
for (const ids of someIds) {
  const bytes = [];
  for (const id of ids) for (const ch of idToToken[id]) bytes.push(charToByte[ch]);
  const text = lossy.decode(new Uint8Array(bytes));
  if (!text.startsWith("\ufeff") && text !== enc.decode(ids)) { console.error("decode mismatch", ids); process.exit(1); }
  decodes.push({ ids, text });
}

fs.writeFileSync(path.join(out, "vectors.json"), JSON.stringify({
  generator: "js-tiktoken@1.0.21 gpt2 (checked against gpt-3-encoder@1.1.4)",
  encode: vectors, decode: decodes,
}, null, 0) + "\n");
fs.mkdirSync(path.join(out, "gpt2"), { recursive: true });
fs.writeFileSync(path.join(out, "gpt2", "vocab.json.gz"), zlib.gzipSync(fs.readFileSync(path.join(g3dir, "encoder.json")), { level: 9 }));
fs.writeFileSync(path.join(out, "gpt2", "merges.txt.gz"), zlib.gzipSync(fs.readFileSync(path.join(g3dir, "vocab.bpe")), { level: 9 }));
console.error(`wrote ${vectors.length} encode and ${decodes.length} decode vectors`);
