package prefdata

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeTemp(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func user(s string) Message      { return Message{Role: "user", Content: s} }
func assistant(s string) Message { return Message{Role: "assistant", Content: s} }

// chatRow builds the Row a conversational line should read as.
func chatRow(p, c, r []Message) Row {
	return Row{Prompt: PlainText(p), Chosen: PlainText(c), Rejected: PlainText(r), PromptMessages: p, ChosenMessages: c, RejectedMessages: r}
}

func TestReadPairsFormats(t *testing.T) {
	sky := `[{"role":"user","content":"What color is the sky?"}]`
	blue, green := `[{"role":"assistant","content":"It is blue."}]`, `[{"role":"assistant","content":"It is green."}]`
	full := func(a string) string {
		return `[{"role":"user","content":"What color is the sky?"},{"role":"assistant","content":"` + a + `"}]`
	}
	skyRow := chatRow([]Message{user("What color is the sky?")}, []Message{assistant("It is blue.")}, []Message{assistant("It is green.")})
	withID := skyRow
	withID.ID = "17"
	for _, c := range []struct {
		name, body string
		want       []Row
	}{
		{"standard, explicit prompt", `{"prompt":"The sky is","chosen":" blue.","rejected":" green."}`,
			[]Row{{Prompt: "The sky is", Chosen: " blue.", Rejected: " green."}}},
		{"standard, empty prompt stays empty", `{"prompt":"","chosen":"The sky is blue.","rejected":"The sky is green."}`,
			[]Row{{Prompt: "", Chosen: "The sky is blue.", Rejected: "The sky is green."}}},
		{"standard, implicit prompt", `{"chosen":"The sky is blue.","rejected":"The sky is green."}`,
			[]Row{{Prompt: "The sky is", Chosen: " blue.", Rejected: " green."}}},
		{"standard, null prompt is implicit", `{"prompt":null,"chosen":"The sky is blue.","rejected":"The sky is green."}`,
			[]Row{{Prompt: "The sky is", Chosen: " blue.", Rejected: " green."}}},
		{"conversational, explicit prompt", `{"prompt":` + sky + `,"chosen":` + blue + `,"rejected":` + green + `}`,
			[]Row{skyRow}},
		{"conversational, implicit prompt", `{"chosen":` + full("It is blue.") + `,"rejected":` + full("It is green.") + `}`,
			[]Row{skyRow}},
		{"conversational, a text prompt is ignored as TRL does", `{"prompt":"sky","chosen":` + full("It is blue.") + `,"rejected":` + full("It is green.") + `}`,
			[]Row{skyRow}},
		{"conversational, empty prompt list", `{"prompt":[],"chosen":` + full("It is blue.") + `,"rejected":` + full("It is green.") + `}`,
			[]Row{chatRow([]Message{}, []Message{user("What color is the sky?"), assistant("It is blue.")}, []Message{user("What color is the sky?"), assistant("It is green.")})}},
		{"conversational, integer id, extra message keys ignored", `{"id":17,"prompt":[{"role":"user","content":"What color is the sky?","name":"u1"}],"chosen":` + blue + `,"rejected":` + green + `}`,
			[]Row{withID}},
		{"optional and study columns, unknown fields, blank lines, BOM",
			"\xef\xbb\xbf" + `{"id":"r0","prompt":"p","chosen":"c","rejected":"r","margin":2,"subset":"math","gold_chosen":0.5,"gold_rejected":-1e-3,"corrupted":true,"split":"train","extra":{"x":[1]}}` +
				"\n\n  \r\n" + `{"prompt":"p","chosen":"c","rejected":"r","margin":null,"id":null,"corrupted":false}` + "\r\n" +
				`{"id":-123456789012345678901234567890,"prompt":"p","chosen":"c","rejected":"r"}`,
			[]Row{{ID: "r0", Prompt: "p", Chosen: "c", Rejected: "r", Margin: Float(2), Subset: "math", GoldChosen: Float(0.5), GoldRejected: Float(-1e-3), Corrupted: true, Split: "train"},
				{Prompt: "p", Chosen: "c", Rejected: "r"}, {ID: "-123456789012345678901234567890", Prompt: "p", Chosen: "c", Rejected: "r"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ReadPairs(writeTemp(t, "d.jsonl", c.body))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

// TestPairErrors checks every pair-row message, exactly, after "file:line: ".
func TestPairErrors(t *testing.T) {
	ok := `{"prompt":"a","chosen":"b","rejected":"c"}`
	for _, c := range []struct {
		name, body, want string
	}{
		{"prompt of numbers", `{"prompt":[1,2],"chosen":"b","rejected":"c"}`, `1: "prompt" must be a string or a list of messages, got an array of numbers`},
		{"prompt number", `{"prompt":3,"chosen":"b","rejected":"c"}`, `1: "prompt" must be a string or a list of messages, got a number`},
		{"chosen object", `{"prompt":"a","chosen":{"text":"b"},"rejected":"c"}`, `1: "chosen" must be a string or a list of messages, got an object`},
		{"missing chosen", `{"prompt":"a","rejected":"c"}`, `1: missing "chosen"`},
		{"missing rejected, line 2", ok + "\n" + `{"prompt":"a","chosen":"b"}`, `2: missing "rejected"`},
		{"null rejected", `{"prompt":"a","chosen":"b","rejected":null}`, `1: missing "rejected"`},
		{"empty chosen after blank lines", "\n\n" + `{"prompt":"a","chosen":"","rejected":"c"}`, `3: "chosen" is empty`},
		{"empty rejected", `{"chosen":"b","rejected":""}`, `1: "rejected" is empty`},
		{"empty chosen list", `{"chosen":[],"rejected":[{"role":"assistant","content":"x"}]}`, `1: "chosen" is empty`},
		{"text and messages", `{"chosen":"b","rejected":[{"role":"assistant","content":"x"}]}`, `1: "chosen" and "rejected" must both be strings or both be lists of messages, got a string and a list of messages`},
		{"message not an object", `{"chosen":[{"role":"user","content":"hi"},"oops"],"rejected":"c"}`, `1: "chosen" message 2 must be an object with "role" and "content", got a string`},
		{"missing role", `{"chosen":[{"content":"hi"}],"rejected":"c"}`, `1: "chosen" message 1: missing "role"`},
		{"missing content", `{"prompt":"a","chosen":"b","rejected":[{"role":"user"}]}`, `1: "rejected" message 1: missing "content"`},
		{"role a number", `{"chosen":[{"role":1,"content":"hi"}],"rejected":"c"}`, `1: "chosen" message 1: "role" must be a string, got a number`},
		{"multimodal content", `{"chosen":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"rejected":"c"}`, `1: "chosen" message 1: "content" must be a string, got an array of objects`},
		{"empty role", `{"chosen":[{"role":"","content":"hi"}],"rejected":"c"}`, `1: "chosen" message 1: "role" is empty`},
		{"message prompt, text responses", `{"prompt":[{"role":"user","content":"hi"}],"chosen":"b","rejected":"c"}`, `1: "prompt" is a list of messages but "chosen" and "rejected" are strings`},
		{"margin a string", `{"prompt":"a","chosen":"b","rejected":"c","margin":"big"}`, `1: "margin" must be a number, got a string`},
		{"margin too large", `{"prompt":"a","chosen":"b","rejected":"c","margin":1e999}`, `1: "margin" must be a finite number, got 1e999`},
		{"gold a boolean", `{"prompt":"a","chosen":"b","rejected":"c","gold_chosen":true}`, `1: "gold_chosen" must be a number, got true`},
		{"exponent id", `{"id":1e3,"prompt":"a","chosen":"b","rejected":"c"}`, `1: "id" must be a string or a whole number, got a number`},
		{"fractional id", `{"id":1.5,"prompt":"a","chosen":"b","rejected":"c"}`, `1: "id" must be a string or a whole number, got a number`},
		{"subset a number", `{"prompt":"a","chosen":"b","rejected":"c","subset":3}`, `1: "subset" must be a string, got a number`},
		{"corrupted a string", `{"prompt":"a","chosen":"b","rejected":"c","corrupted":"yes"}`, `1: "corrupted" must be true or false, got a string`},
		{"mixed array", `{"prompt":["a",1],"chosen":"b","rejected":"c"}`, `1: "prompt" must be a string or a list of messages, got an array of mixed values`},
		{"truncated line", `{"prompt":"a","chosen":"b",`, `1: invalid JSON: the line ends inside a value`},
		{"bad literal", `{"prompt":tru}`, `1: invalid JSON: invalid character '}' in literal true (expecting 'e')`},
		{"two objects on a line", ok + ` {"x":1}`, `1: invalid JSON: more than one value on the line`},
		{"array line", `["prompt","a"]`, `1: a line must be a JSON object, got an array of strings`},
		{"string line", ok + "\n" + `"hello"`, `2: a line must be a JSON object, got a string`},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := writeTemp(t, "bad.jsonl", c.body)
			_, err := ReadPairs(path)
			if err == nil || err.Error() != path+":"+c.want {
				t.Errorf("error %v\n want %s:%s", err, path, c.want)
			}
		})
	}
}

func TestNoRows(t *testing.T) {
	for _, c := range []struct{ name, body string }{{"empty file", ""}, {"blank lines", "\n  \n\r\n"}, {"only a BOM", "\xef\xbb\xbf\n"}} {
		t.Run(c.name, func(t *testing.T) {
			path := writeTemp(t, "empty.jsonl", c.body)
			for name, read := range map[string]func(string) error{
				"ReadPairs":   func(p string) error { _, err := ReadPairs(p); return err },
				"Read":        func(p string) error { _, err := Read(p); return err },
				"ReadPrompts": func(p string) error { _, err := ReadPrompts(p); return err },
			} {
				err := read(path)
				if !errors.Is(err, ErrNoRows) || err.Error() != path+": no rows" {
					t.Errorf("%s: error %v, want %s: no rows wrapping ErrNoRows", name, err, path)
				}
			}
			// The deprecated readers keep their old contract: no rows, no error.
			if rows, err := ReadJSONL(path); err != nil || len(rows) != 0 {
				t.Errorf("ReadJSONL: %v, %v", rows, err)
			}
		})
	}
	path := filepath.Join(t.TempDir(), "empty.parquet")
	if err := WriteParquet(path, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPairs(path); !errors.Is(err, ErrNoRows) {
		t.Errorf("empty Parquet: error %v", err)
	}
	if _, err := ReadPairs(filepath.Join(t.TempDir(), "missing.jsonl")); err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing.jsonl") {
		t.Errorf("missing file: error %v", err)
	}
}

func TestRead(t *testing.T) {
	for _, c := range []struct {
		name, body string
		want       *Data
	}{
		{"texts", `{"prompt":"Hi","response":" there","id":"a"}` + "\n" + `{"response":"x"}`,
			&Data{Kind: Texts, Texts: []ScoreRow{{ID: "a", Prompt: "Hi", Response: " there"}, {Response: "x"}}}},
		{"conversational texts", `{"prompt":[{"role":"user","content":"Hi"}],"response":[{"role":"assistant","content":"Yo"}]}` + "\n" + `{"response":[{"role":"assistant","content":"Yo"}]}`,
			&Data{Kind: Texts, Texts: []ScoreRow{
				{Prompt: "\n\nUser: Hi", Response: "\n\nAssistant: Yo", PromptMessages: []Message{user("Hi")}, ResponseMessages: []Message{assistant("Yo")}},
				{Prompt: "", Response: "\n\nAssistant: Yo", PromptMessages: []Message{}, ResponseMessages: []Message{assistant("Yo")}}}}},
		{"pairs", `{"chosen":"ab","rejected":"ac"}`,
			&Data{Kind: Pairs, Pairs: []Row{{Prompt: "a", Chosen: "b", Rejected: "c"}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Read(writeTemp(t, "d.jsonl", c.body))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
	for _, c := range []struct{ name, body, want string }{
		{"neither kind", `{"prompt":"a"}`, `1: want "chosen" and "rejected" (a preference pair) or "response" (a text to score)`},
		{"pair among texts", `{"response":"a"}` + "\n" + `{"chosen":"a","rejected":"b"}`, `2: a preference pair among texts to score (the first row has "response"): one file holds one kind of row`},
		{"text among pairs", `{"chosen":"a","rejected":"b"}` + "\n" + `{"response":"a"}`, `2: a text to score among preference pairs (the first row has "chosen"/"rejected"): one file holds one kind of row`},
		{"missing response", `{"response":"a"}` + "\n" + `{"prompt":"a"}`, `2: missing "response"`},
		{"empty response", `{"prompt":"a","response":""}`, `1: "response" is empty`},
		{"response of numbers", `{"response":[1]}`, `1: "response" must be a string or a list of messages, got an array of numbers`},
		{"prompt and response kinds", `{"prompt":"a","response":[{"role":"assistant","content":"x"}]}`, `1: "prompt" and "response" must both be strings or both be lists of messages, got a string and a list of messages`},
		{"bad id", `{"response":"a","id":true}`, `1: "id" must be a string or a whole number, got true`},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := writeTemp(t, "bad.jsonl", c.body)
			if _, err := Read(path); err == nil || err.Error() != path+":"+c.want {
				t.Errorf("error %v\n want %s:%s", err, path, c.want)
			}
		})
	}
}

func TestReadPrompts(t *testing.T) {
	body := `{"prompt":"Once upon"}` + "\n" +
		`{"chosen":"The sky is blue.","rejected":"The sky is green.","id":"p2"}` + "\n" +
		`{"prompt":[{"role":"user","content":"Hi"}]}` + "\n" +
		`{"prompt":"Once upon"}` + "\n" + `{"prompt":"  "}` + "\n" + `{"prompt":""}`
	got, err := ReadPrompts(writeTemp(t, "p.jsonl", body))
	if err != nil {
		t.Fatal(err)
	}
	want := []Prompt{{Text: "Once upon"}, {ID: "p2", Text: "The sky is"}, {Text: "\n\nUser: Hi", Messages: []Message{user("Hi")}},
		{Text: "Once upon"}, {Text: "  "}, {Text: ""}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	for _, c := range []struct {
		limit int
		want  []Prompt
	}{{0, want[:3]}, {2, want[:2]}} {
		if u := UniquePrompts(got, c.limit); !reflect.DeepEqual(u, c.want) {
			t.Errorf("UniquePrompts(limit %d) = %+v", c.limit, u)
		}
	}
	for _, c := range []struct{ name, body, want string }{
		{"no prompt", `{"text":"a"}`, `1: missing "prompt"`},
		{"pair rules apply", `{"chosen":"a"}`, `1: missing "rejected"`},
		{"prompt a number", `{"prompt":1}`, `1: "prompt" must be a string or a list of messages, got a number`},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := writeTemp(t, "bad.jsonl", c.body)
			if _, err := ReadPrompts(path); err == nil || err.Error() != path+":"+c.want {
				t.Errorf("error %v\n want %s:%s", err, path, c.want)
			}
		})
	}
}

func TestStdin(t *testing.T) {
	rows := []Row{{Prompt: "p", Chosen: "c", Rejected: "r"}}
	dir := t.TempDir()
	for _, name := range []string{"in.jsonl", "in.parquet"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			write := WriteJSONL
			if strings.HasSuffix(name, ".parquet") {
				write = WriteParquet
			}
			if err := write(path, rows); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			saved := os.Stdin
			os.Stdin = f
			defer func() { os.Stdin = saved }()
			got, err := ReadPairs("-")
			if err != nil || !reflect.DeepEqual(got, rows) {
				t.Errorf("got %+v, %v", got, err)
			}
		})
	}
	saved := os.Stdin
	defer func() { os.Stdin = saved }()
	os.Stdin, _ = os.Open(writeTemp(t, "bad.jsonl", `{"chosen":"a"}`))
	if _, err := ReadPairs("-"); err == nil || err.Error() != `stdin:1: missing "rejected"` {
		t.Errorf("error %v", err)
	}
}
