package safetensors

import (
	"bufio"
	"errors"
	"fmt"
	"github.com/warm-rm/warm/internal/atomicfile"
	"io/fs"
	"os"
)

// writeBufSize is the write buffer: large sequential writes keep a
// streamed merge at memory bandwidth.
const writeBufSize = 4 << 20

// Writer streams one .safetensors file: the header is written first, then
// the data of the declared tensors in order. The file appears at its path
// only when Close succeeds.
type Writer struct {
	path    string
	tmp     *atomicfile.File
	buf     *bufio.Writer
	total   int64 // declared data bytes
	written int64
	err     error
	NoSync  bool // skip fsync on Close (benchmarks, scratch files)
}

// Create starts writing path. tensors gives names, dtypes and shapes, in
// the order their data will be written (Begin/End are ignored).
func Create(path string, tensors []TensorInfo, metadata map[string]string) (*Writer, error) {
	ts := make([]TensorInfo, len(tensors))
	copy(ts, tensors)
	hdr, total, err := encodeHeader(ts, metadata)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	tmp, err := atomicfile.Create(path)
	if err != nil {
		return nil, err
	}
	w := &Writer{path: path, tmp: tmp, buf: bufio.NewWriterSize(tmp, writeBufSize), total: total}
	if _, err := w.buf.Write(hdr); err != nil {
		w.Abort()
		return nil, ioError(path, err)
	}
	return w, nil
}

// Total returns the number of data bytes the declared tensors need.
func (w *Writer) Total() int64 { return w.total }

// Write appends tensor data. Writing more than declared is an error.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if int64(len(p)) > w.total-w.written {
		w.err = fmt.Errorf("%s: %d bytes written past the declared %d", w.path, w.written+int64(len(p))-w.total, w.total)
		return 0, w.err
	}
	n, err := w.buf.Write(p)
	w.written += int64(n)
	if err != nil {
		w.err = ioError(w.path, err)
	}
	return n, w.err
}

// Close checks that all declared bytes were written, syncs, and renames the
// temporary file to the destination. On error nothing is left behind.
func (w *Writer) Close() error {
	if w.tmp == nil {
		return errors.New("safetensors: Writer already closed")
	}
	err := w.err
	if err == nil && w.written != w.total {
		err = fmt.Errorf("%s: %d of %d data bytes written", w.path, w.written, w.total)
	}
	if err != nil {
		w.Abort()
		return err
	}
	if err = w.buf.Flush(); err != nil {
		w.Abort()
		return ioError(w.path, err)
	}
	w.tmp.NoSync = w.NoSync
	err = w.tmp.Commit()
	w.tmp = nil
	return err
}

// Abort discards the temporary file. Safe to call after Close.
func (w *Writer) Abort() {
	if w.tmp == nil {
		return
	}
	w.tmp.Abort()
	w.tmp = nil
}

// Tensor is a float tensor in memory.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

func checkOutDtype(d Dtype) error {
	if d != F32 && d != BF16 {
		return fmt.Errorf("safetensors: can write float tensors as F32 or BF16, not %q", d)
	}
	return nil
}

func tensorInfos(tensors []Tensor, dtype Dtype) ([]TensorInfo, error) {
	infos := make([]TensorInfo, len(tensors))
	for i, t := range tensors {
		n := 1
		for _, d := range t.Shape {
			n *= d
		}
		if n != len(t.Data) {
			return nil, fmt.Errorf("tensor %q: shape %v has %d elements, data has %d", t.Name, t.Shape, n, len(t.Data))
		}
		infos[i] = TensorInfo{Name: t.Name, Dtype: dtype, Shape: t.Shape}
	}
	return infos, nil
}

// writeTensorData encodes t in 64K-element chunks into w.
func writeTensorData(w interface{ Write([]byte) (int, error) }, data []float32, dtype Dtype, scratch []byte) ([]byte, error) {
	const chunk = 1 << 16
	for i := 0; i < len(data); i += chunk {
		scratch = EncodeFloat32(scratch[:0], data[i:min(i+chunk, len(data))], dtype)
		if _, err := w.Write(scratch); err != nil {
			return scratch, err
		}
	}
	return scratch, nil
}

// WriteFloat32 writes tensors (in the given order) as dtype F32 or BF16
// (rounded to nearest even), atomically (temp file + rename).
func WriteFloat32(path string, tensors []Tensor, dtype Dtype, metadata map[string]string) error {
	if err := checkOutDtype(dtype); err != nil {
		return err
	}
	infos, err := tensorInfos(tensors, dtype)
	if err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	w, err := Create(path, infos, metadata)
	if err != nil {
		return err
	}
	var scratch []byte
	for _, t := range tensors {
		if scratch, err = writeTensorData(w, t.Data, dtype, scratch); err != nil {
			w.Abort()
			return err
		}
	}
	return w.Close()
}

// ioError names the destination, not the temporary file the bytes were
// going to (whose name means nothing to the user and is gone after the
// Abort): "out/model.safetensors: write: no space left on device".
func ioError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %s: %w", path, pe.Op, pe.Err)
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return fmt.Errorf("%s: %s: %w", path, le.Op, le.Err)
	}
	return fmt.Errorf("%s: %w", path, err)
}
