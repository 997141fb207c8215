package prefdata

import (
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
	"github.com/warm-rm/warm/internal/atomicfile"
)

// Parquet goes through github.com/parquet-go/parquet-go (pure Go, builds
// without cgo). Reading does not bind columns to a Go struct: each row is
// reconstructed as a generic value (strings, numbers, lists of
// {"role","content"} structs) and handed to the same validator as a JSONL
// line, so a column of the wrong type gets the same message as a JSON
// field of the wrong type. Writing uses the JSON field names as column
// names, so pandas / datasets read the file as the JSONL's table.

// eachParquet calls fn with each row of a Parquet file as a record.
// Errors read "name: row N: problem". It returns the number of rows.
func eachParquet(ra io.ReaderAt, size int64, name string, fn func(record) error) (int, error) {
	pf, err := parquet.OpenFile(ra, size)
	if err != nil {
		return 0, fmt.Errorf("%s: not a readable Parquet file: %v", name, err)
	}
	schema := pf.Schema()
	buf := make([]parquet.Row, 64)
	n := 0
	for _, rg := range pf.RowGroups() {
		rows := rg.Rows()
		for {
			k, rerr := rows.ReadRows(buf)
			for _, row := range buf[:k] {
				n++
				rec, err := reconstruct(schema, row)
				if err == nil {
					err = fn(rec)
				}
				if err != nil {
					rows.Close()
					return n, fmt.Errorf("%s: row %d: %v", name, n, err)
				}
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				rows.Close()
				return n, fmt.Errorf("%s: row %d: %v", name, n+1, rerr)
			}
		}
		if err := rows.Close(); err != nil {
			return n, fmt.Errorf("%s: %v", name, err)
		}
	}
	return n, nil
}

// reconstruct turns a Parquet row into a record. parquet-go panics on
// shapes it cannot rebuild; that is bad input, reported as an error.
func reconstruct(schema *parquet.Schema, row parquet.Row) (rec record, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("cannot read the row: %v", p)
		}
	}()
	var v any
	if err := schema.Reconstruct(&v, row); err != nil {
		return nil, fmt.Errorf("cannot read the row: %v", err)
	}
	m, ok := normalize(v).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("cannot read the row: not a group of columns")
	}
	return m, nil
}

// normalize maps the Go values parquet-go reconstructs onto the JSON
// shapes the validator knows: numbers become json.Number, slices []any,
// maps and structs map[string]any.
func normalize(v any) any {
	switch x := v.(type) {
	case string:
		return validUTF8(x)
	case nil, bool, []byte:
		return x
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
		return x
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return json.Number(strconv.FormatInt(rv.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return json.Number(strconv.FormatUint(rv.Uint(), 10))
	case reflect.Float32:
		return json.Number(strconv.FormatFloat(rv.Float(), 'g', -1, 32))
	case reflect.Float64:
		return json.Number(strconv.FormatFloat(rv.Float(), 'g', -1, 64))
	case reflect.String:
		return validUTF8(rv.String())
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil
		}
		return normalize(rv.Elem().Interface())
	case reflect.Slice, reflect.Array:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, rv.Len())
			reflect.Copy(reflect.ValueOf(b), rv)
			return b
		}
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = normalize(rv.Index(i).Interface())
		}
		return out
	case reflect.Map:
		out := make(map[string]any, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			out[fmt.Sprint(it.Key().Interface())] = normalize(it.Value().Interface())
		}
		return out
	}
	return v // reported by describe as an unsupported type
}

// WriteParquet writes rows as a zstd-compressed Parquet file, atomically.
// Text rows give string columns; conversational rows give
// list<struct<role, content>> columns. A column holds one type, so the
// two kinds cannot share a file.
func WriteParquet(path string, rows []Row) error {
	chat := len(rows) > 0 && rows[0].Conversational()
	for i := range rows {
		if rows[i].Conversational() != chat {
			return fmt.Errorf("%s: row %d is %s but row 1 is not: a Parquet column holds one type", path, i+1, kindName(rows[i].Conversational()))
		}
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		if !chat {
			return writeParquetRows(w, rows)
		}
		// list<struct<role, content>> columns, as Hugging Face datasets
		// store TRL's conversational format.
		out := make([]tableRow[[]Message], len(rows))
		for i := range rows {
			r := &rows[i]
			out[i] = newTableRow(r, orEmpty(r.PromptMessages), r.ChosenMessages, r.RejectedMessages)
		}
		return writeParquetRows(w, out)
	})
}

func writeParquetRows[T any](w io.Writer, rows []T) error {
	pw := parquet.NewGenericWriter[T](w, parquet.Compression(&parquet.Zstd))
	if _, err := pw.Write(rows); err != nil {
		return err
	}
	return pw.Close()
}

func kindName(chat bool) string {
	if chat {
		return "conversational (chat messages)"
	}
	return "text"
}

// validUTF8 replaces each byte that is not part of valid UTF-8 with U+FFFD,
// as encoding/json does when it reads a JSONL line, so both formats give
// the same text.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
