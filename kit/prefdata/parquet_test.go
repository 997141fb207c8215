package prefdata

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func sampleRows() []Row {
	return []Row{
		{ID: "r0", Prompt: "The weather today", Chosen: " is lovely & warm <3", Rejected: " is awful.", Margin: Float(1.5), Subset: "id",
			GoldChosen: Float(0.8), GoldRejected: Float(-0.4), Split: "train"},
		{ID: "r1", Prompt: "", Chosen: "ünïcode ✓ \"quoted\"\nnewline", Rejected: "b", Corrupted: true, Split: "val"},
		{Prompt: "p", Chosen: "c", Rejected: "r", GoldChosen: Float(0), GoldRejected: Float(0)},
	}
}

func sampleChatRows() []Row {
	r0 := chatRow([]Message{{"system", "Be kind."}, user("What color is the sky?")}, []Message{assistant("Blue & <bright>.")}, []Message{assistant("Green.")})
	r0.ID, r0.Margin, r0.Split = "c0", Float(-0.25), "train"
	// An empty prompt list beside responses that share their first turn:
	// it must read back as an empty prompt, not as an implicit one.
	r1 := chatRow([]Message{}, []Message{user("Hi"), assistant("Hello!")}, []Message{user("Hi"), assistant("Go away.")})
	r1.Corrupted = true
	return []Row{r0, r1}
}

// TestRoundTrips writes rows as JSONL and as Parquet and reads both back:
// each must give the rows written, so the two files give identical rows.
func TestRoundTrips(t *testing.T) {
	for _, c := range []struct {
		name string
		rows []Row
	}{{"text rows", sampleRows()}, {"conversational rows", sampleChatRows()}} {
		for _, f := range []struct {
			ext   string
			write func(string, []Row) error
		}{{"jsonl", WriteJSONL}, {"parquet", WriteParquet}} {
			t.Run(c.name+"/"+f.ext, func(t *testing.T) {
				dir := t.TempDir()
				path := filepath.Join(dir, "prefs."+f.ext)
				if err := f.write(path, c.rows); err != nil {
					t.Fatal(err)
				}
				back, err := ReadPairs(path)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(back, c.rows) {
					t.Fatalf("round trip:\n got %+v\nwant %+v", back, c.rows)
				}
				b, _ := os.ReadFile(path)
				if f.ext == "parquet" && (string(b[:4]) != "PAR1" || string(b[len(b)-4:]) != "PAR1") {
					t.Error("not a Parquet file (magic)")
				}
				if f.ext == "jsonl" && (!strings.Contains(string(b), "& ") || !strings.Contains(string(b), "<") || strings.Contains(string(b), `"margin":null`)) {
					t.Errorf("JSONL should keep & < > readable and omit absent optionals:\n%s", b)
				}
				if st, err := os.Stat(path); err != nil || st.Mode().Perm()&0o044 == 0 {
					t.Errorf("file mode %v, %v: want readable by others (0644 under the umask)", st.Mode(), err)
				}
				if ents, _ := os.ReadDir(dir); len(ents) != 1 {
					t.Errorf("%d files in the folder after writing, want 1", len(ents))
				}
			})
		}
	}
}

func TestWriteParquetMixedKinds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mixed.parquet")
	rows := append(sampleRows()[:1], sampleChatRows()...)
	err := WriteParquet(path, rows)
	if err == nil || err.Error() != path+": row 2 is conversational (chat messages) but row 1 is not: a Parquet column holds one type" {
		t.Errorf("error %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Error("a file was written")
	}
}

// Parquet files written by other tools go through the same validator:
// these column types come from a Go struct here, but the messages are the
// JSONL ones with "row N" for "line N".
func TestParquetErrors(t *testing.T) {
	type numPrompt struct {
		Prompt   int64  `parquet:"prompt"`
		Chosen   string `parquet:"chosen"`
		Rejected string `parquet:"rejected"`
	}
	type strList struct {
		Prompt   string   `parquet:"prompt"`
		Chosen   []string `parquet:"chosen,list"`
		Rejected string   `parquet:"rejected"`
	}
	type noRejected struct {
		Prompt string `parquet:"prompt"`
		Chosen string `parquet:"chosen"`
	}
	type withMargin struct {
		Chosen   string  `parquet:"chosen"`
		Rejected string  `parquet:"rejected"`
		Margin   float32 `parquet:"margin"`
		ID       int32   `parquet:"id"`
	}
	type rawBytes struct {
		Prompt   []byte `parquet:"prompt"` // BYTE_ARRAY without the STRING annotation
		Chosen   string `parquet:"chosen"`
		Rejected string `parquet:"rejected"`
	}
	for _, c := range []struct {
		name  string
		write func(string) error
		want  string
	}{
		{"number prompt", func(p string) error {
			return writeParquetFile(p, []numPrompt{{1, "c", "r"}})
		}, `row 1: "prompt" must be a string or a list of messages, got a number`},
		{"list of strings", func(p string) error {
			return writeParquetFile(p, []strList{{"p", []string{"a", "b"}, "r"}})
		}, `row 1: "chosen" must be a string or a list of messages, got an array of strings`},
		{"no rejected column", func(p string) error {
			return writeParquetFile(p, []noRejected{{"p", "c"}})
		}, `row 1: missing "rejected"`},
		{"NaN margin in row 2", func(p string) error {
			return writeParquetFile(p, []withMargin{{"a", "b", 1, 7}, {"a", "b", float32(math.NaN()), 8}})
		}, `row 2: "margin" must be a finite number, got NaN`},
		{"empty chosen", func(p string) error {
			return WriteParquet(p, []Row{{Chosen: "a", Rejected: "b"}, {Chosen: "a", Rejected: "b"}, {Chosen: "", Rejected: "b"}})
		}, `row 3: "chosen" is empty`},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.parquet")
			if err := c.write(path); err != nil {
				t.Fatal(err)
			}
			if _, err := ReadPairs(path); err == nil || err.Error() != path+": "+c.want {
				t.Errorf("error %v\n want %s: %s", err, path, c.want)
			}
		})
	}
	// Numbers of other widths, and bytes that are UTF-8, are read.
	path := filepath.Join(t.TempDir(), "ok.parquet")
	if err := writeParquetFile(path, []withMargin{{"ab", "ac", 0.5, 7}}); err != nil {
		t.Fatal(err)
	}
	rows, err := ReadPairs(path)
	if want := []Row{{ID: "7", Prompt: "a", Chosen: "b", Rejected: "c", Margin: Float(0.5)}}; err != nil || !reflect.DeepEqual(rows, want) {
		t.Errorf("got %+v, %v", rows, err)
	}
	if err := writeParquetFile(path, []rawBytes{{[]byte("p"), "c", "r"}}); err != nil {
		t.Fatal(err)
	}
	if rows, err := ReadPairs(path); err != nil || rows[0].Prompt != "p" {
		t.Errorf("got %+v, %v", rows, err)
	}
	// Bytes that are not UTF-8 read as encoding/json reads them in JSONL:
	// each bad byte becomes U+FFFD.
	if err := writeParquetFile(path, []rawBytes{{[]byte("a\xff\xfeb"), "c", "r"}}); err != nil {
		t.Fatal(err)
	}
	fromParquet, err := ReadPairs(path)
	if err != nil {
		t.Fatal(err)
	}
	fromJSONL, err := ReadPairs(writeTemp(t, "bad-utf8.jsonl", "{\"prompt\":\"a\xff\xfeb\",\"chosen\":\"c\",\"rejected\":\"r\"}"))
	if err != nil || fromParquet[0].Prompt != "a\uFFFD\uFFFDb" || !reflect.DeepEqual(fromParquet, fromJSONL) {
		t.Errorf("Parquet %+v, JSONL %+v (%v)", fromParquet, fromJSONL, err)
	}
	// A file that starts like Parquet but is not one.
	bad := writeTemp(t, "bad.parquet", "PAR1 and then nothing of the sort")
	if _, err := ReadPairs(bad); err == nil || !strings.HasPrefix(err.Error(), bad+": not a readable Parquet file: ") {
		t.Errorf("error %v", err)
	}
}

func writeParquetFile[T any](path string, rows []T) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := writeParquetRows(f, rows); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
