// Writes prefdata's Parquet fixtures with an implementation independent of
// parquet-go: Apache Arrow JS builds the tables, arrow-rs (compiled to
// WebAssembly as parquet-wasm) writes the Parquet. Each fixture gets a JSONL
// twin written here with JSON.stringify, so the Go test can check that both
// formats read as the same rows.
//
//   cd kit/prefdata/testdata/arrow && npm install && node fixtures.mjs
//   node fixtures.mjs read FILE.parquet   # print a Parquet file's rows as JSONL (arrow-rs reading)
import * as arrow from "apache-arrow";
import * as pq from "parquet-wasm/node";
import { readFileSync, writeFileSync } from "node:fs";

if (process.argv[2] === "read") {
  const t = arrow.tableFromIPC(pq.readParquet(readFileSync(process.argv[3])).intoIPCStream());
  console.log("schema:", t.schema.fields.map((f) => `${f.name}: ${f.type}`).join(", "));
  for (const row of t) console.log(JSON.stringify(row.toJSON(), (k, v) => (typeof v === "bigint" ? Number(v) : v?.toJSON && !(v instanceof Array) && typeof v !== "string" ? v.toJSON() : v)));
  process.exit(0);
}

const utf8 = new arrow.Utf8();
const message = new arrow.Struct([new arrow.Field("role", utf8, true), new arrow.Field("content", utf8, true)]);
const messages = new arrow.List(new arrow.Field("element", message, true));

function write(name, columns, rows) {
  const vectors = {};
  for (const [col, type] of Object.entries(columns)) {
    vectors[col] = arrow.vectorFromArray(rows.map((r) => r[col] ?? null), type);
  }
  const table = new arrow.Table(vectors);
  const props = new pq.WriterPropertiesBuilder().setCompression(pq.Compression.SNAPPY).build();
  writeFileSync(`../${name}.parquet`, pq.writeParquet(pq.Table.fromIPCStream(arrow.tableToIPC(table, "stream")), props));
  writeFileSync(`../${name}.jsonl`, rows.map((r) => JSON.stringify(r, (k, v) => (typeof v === "bigint" ? Number(v) : v))).join("\n") + "\n");
}

// TRL standard rows: explicit prompts (one empty), a null prompt (implicit),
// the optional columns, and a column the reader must ignore.
write(
  "trl_standard",
  { id: new arrow.Int64(), prompt: utf8, chosen: utf8, rejected: utf8, margin: new arrow.Float64(), subset: utf8, source: utf8 },
  [
    { id: 0n, prompt: "The sky is", chosen: " blue.", rejected: " green.", margin: 1.5, subset: "colors", source: "hand" },
    { id: 1n, prompt: "", chosen: "Ship it: the tests pass.", rejected: "Looks fine.", margin: null, subset: "review", source: "hand" },
    { id: 2n, prompt: null, chosen: "Café au lait, s'il vous plaît.", rejected: "Café noir, s'il vous plaît.", margin: 0.25, subset: null, source: null },
  ],
);

// TRL standard rows with an implicit prompt: no prompt column at all.
write("trl_implicit", { chosen: utf8, rejected: utf8 }, [
  { chosen: "Q: 2+2? A: 4", rejected: "Q: 2+2? A: 5" },
  { chosen: "Human: hi\n\nAssistant: Hello! 👋", rejected: "Human: hi\n\nAssistant: Go away." },
]);

// TRL conversational rows: list<struct<role, content>> columns, one row
// with an explicit prompt, one with an implicit (null) prompt.
const m = (role, content) => ({ role, content });
write(
  "trl_conversational",
  { prompt: messages, chosen: messages, rejected: messages, margin: new arrow.Float64() },
  [
    { prompt: [m("system", "Answer briefly."), m("user", "What color is the sky?")], chosen: [m("assistant", "Blue.")], rejected: [m("assistant", "It is green & <b>bold</b>.")], margin: 2 },
    {
      prompt: null,
      chosen: [m("user", "Hi"), m("assistant", "Hello!")],
      rejected: [m("user", "Hi"), m("assistant", "Go away.")],
      margin: null,
    },
  ],
);
console.log("wrote trl_standard, trl_implicit, trl_conversational (.parquet and .jsonl)");
