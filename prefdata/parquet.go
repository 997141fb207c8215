package prefdata

import (
	"fmt"
	"io"
	"os"

	"github.com/parquet-go/parquet-go"
)

// Parquet goes through github.com/parquet-go/parquet-go (pure Go, builds
// without cgo): the columns are Row's parquet tags, the same names as the
// JSON fields, so pandas / datasets read the file as the JSONL's table.

// WriteParquet writes rows as a zstd-compressed Parquet file, atomically.
func WriteParquet(path string, rows []Row) error {
	return writeAtomic(path, func(w io.Writer) error {
		pw := parquet.NewGenericWriter[Row](w, parquet.Compression(&parquet.Zstd))
		if _, err := pw.Write(rows); err != nil {
			return err
		}
		return pw.Close()
	})
}

// ReadParquet reads a Parquet file written by WriteParquet or by another
// tool with (at least) string columns prompt, chosen and rejected. Rows
// with an empty chosen or rejected text are an error, as in ReadJSONL.
func ReadParquet(path string) ([]Row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: not a Parquet file: %v", path, err)
	}
	for _, col := range []string{"prompt", "chosen", "rejected"} {
		if _, ok := pf.Schema().Lookup(col); !ok {
			return nil, fmt.Errorf("%s: no %q column", path, col)
		}
	}
	rows, err := parquet.Read[Row](f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	for i, r := range rows {
		if r.Chosen == "" || r.Rejected == "" {
			return nil, fmt.Errorf("%s: row %d: empty \"chosen\" or \"rejected\"", path, i)
		}
	}
	return rows, nil
}
