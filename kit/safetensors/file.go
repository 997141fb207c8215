package safetensors

import (
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"unsafe"
)

// File is one open .safetensors file.
//
// Tensors are read two ways. Float32, ReadFloat32 and ReadBytes copy with pread into
// memory the caller owns: a file truncated or rewritten in place while it
// is read yields an error (or, for a same-size rewrite, other bytes), never
// a crash. Bytes maps the file read-only (lazily, on first use) and aliases
// the mapping: zero-copy, but touching a page beyond the end of a file that
// has shrunk since raises SIGBUS, which Go cannot recover. Bytes is for
// tools that own their inputs for the duration (merge); a long-running
// process that reloads files others may rewrite (serve) must use the
// copying readers. See docs/safetensors.md.
type File struct {
	path string
	fd   *os.File
	size int64 // at Open
	h    *header

	mapMu  sync.Mutex
	data   []byte // the whole file (mmap), nil until the first Bytes
	mapErr error
	closed bool
}

// Open validates path's header and keeps the file open. Nothing else is
// read until a tensor is asked for.
func Open(path string) (_ *File, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	size := st.Size()
	// Parse the header from a read, not the mapping, so a hostile file is
	// rejected before anything is mapped.
	var lenbuf [8]byte
	if _, err := io.ReadFull(f, lenbuf[:min(8, int(size))]); err != nil && size >= 8 {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if size < 8 {
		return nil, fmt.Errorf("%s: not a safetensors file: %d bytes, need at least 8", path, size)
	}
	n := uint64(lenbuf[0]) | uint64(lenbuf[1])<<8 | uint64(lenbuf[2])<<16 | uint64(lenbuf[3])<<24 |
		uint64(lenbuf[4])<<32 | uint64(lenbuf[5])<<40 | uint64(lenbuf[6])<<48 | uint64(lenbuf[7])<<56
	prefix := lenbuf[:]
	if n <= MaxHeaderSize && int64(n) <= size-8 {
		prefix = make([]byte, 8+n)
		copy(prefix, lenbuf[:])
		if _, err := io.ReadFull(f, prefix[8:]); err != nil {
			return nil, fmt.Errorf("%s: reading header: %v", path, err)
		}
	}
	h, err := parseHeader(path, prefix, size)
	if err != nil {
		return nil, err
	}
	return &File{path: path, fd: f, size: size, h: h}, nil
}

// Close unmaps and closes the file. Slices returned by Bytes become invalid.
func (f *File) Close() error {
	if f == nil {
		return nil
	}
	f.mapMu.Lock()
	defer f.mapMu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	err := unmapFile(f.data)
	f.data = nil
	if cerr := f.fd.Close(); err == nil {
		err = cerr
	}
	return err
}

// checkSize fails when the file no longer has the size its header was
// validated against: it was truncated, extended or replaced in place.
func (f *File) checkSize() error {
	st, err := f.fd.Stat()
	if err != nil {
		return fmt.Errorf("%s: %v", f.path, err)
	}
	if st.Size() != f.size {
		return fmt.Errorf("%s: file changed size while open (%d bytes, was %d): rewritten in place?", f.path, st.Size(), f.size)
	}
	return nil
}

// mapped returns the mapping, creating it on first use after checking that
// the file still has the size the header was validated against.
func (f *File) mapped() ([]byte, error) {
	f.mapMu.Lock()
	defer f.mapMu.Unlock()
	if f.closed {
		return nil, fmt.Errorf("%s: file is closed", f.path)
	}
	if f.data != nil || f.mapErr != nil {
		return f.data, f.mapErr
	}
	if err := f.checkSize(); err != nil {
		return nil, err // not sticky: the caller may retry after a rewrite settles
	}
	f.data, f.mapErr = mapFile(f.fd, f.size)
	if f.mapErr != nil {
		f.mapErr = fmt.Errorf("%s: mmap: %v", f.path, f.mapErr)
	}
	return f.data, f.mapErr
}

// Path returns the path the file was opened from.
func (f *File) Path() string { return f.path }

// Size returns the file size in bytes (at Open).
func (f *File) Size() int64 { return f.size }

// DataOffset returns where the data section begins in the file.
func (f *File) DataOffset() int64 { return f.h.dataOff }

// Names returns the tensor names, sorted.
func (f *File) Names() []string {
	names := make([]string, len(f.h.tensors))
	for i, t := range f.h.tensors {
		names[i] = t.Name
	}
	sort.Strings(names)
	return names
}

// Tensors returns the tensors in data (file) order.
func (f *File) Tensors() []TensorInfo {
	out := make([]TensorInfo, len(f.h.tensors))
	copy(out, f.h.tensors)
	return out
}

// Info returns a tensor's description.
func (f *File) Info(name string) (TensorInfo, bool) {
	i, ok := f.h.byName[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.h.tensors[i], true
}

// Metadata returns the header's __metadata__ (empty, not nil, if absent).
func (f *File) Metadata() map[string]string { return f.h.metadata }

// Bytes returns the tensor's raw little-endian bytes, aliasing a read-only
// mapping of the file: valid until Close, and must not be written. The file
// must not shrink while the slice is in use (SIGBUS); see File.
func (f *File) Bytes(name string) ([]byte, error) {
	t, ok := f.Info(name)
	if !ok {
		return nil, fmt.Errorf("%s: no tensor %q", f.path, name)
	}
	data, err := f.mapped()
	if err != nil {
		return nil, err
	}
	off := f.h.dataOff
	return data[off+t.Begin : off+t.End : off+t.End], nil
}

// Float32 returns a new slice with the tensor converted from F32, F16, BF16
// or F64, read with pread (see File).
func (f *File) Float32(name string) ([]float32, error) {
	t, ok := f.Info(name)
	if !ok {
		return nil, fmt.Errorf("%s: no tensor %q", f.path, name)
	}
	out := make([]float32, t.NumElements())
	if err := f.ReadFloat32(name, out); err != nil {
		return nil, err
	}
	return out, nil
}

// readChunk is how many bytes ReadFloat32 reads per pread: large enough to
// amortise the syscall, small enough that the staging buffer is negligible
// next to the tensor.
const readChunk = 4 << 20

// ReadFloat32 reads the tensor into dst (len = element count), converting
// from F32, F16, BF16 or F64. It reads with pread, never through the
// mapping, so a file truncated in place gives an error instead of SIGBUS,
// and it checks the file size again before returning, so a truncation
// during the read is reported even if the bytes read happened to be there.
func (f *File) ReadFloat32(name string, dst []float32) error {
	t, ok := f.Info(name)
	if !ok {
		return fmt.Errorf("%s: no tensor %q", f.path, name)
	}
	if !t.Dtype.IsFloat() {
		return fmt.Errorf("%s: tensor %q has dtype %s, not a float type", f.path, name, t.Dtype)
	}
	if int64(len(dst)) != t.NumElements() {
		return fmt.Errorf("%s: tensor %q has %d elements, destination %d", f.path, name, t.NumElements(), len(dst))
	}
	if err := f.readable(); err != nil {
		return err
	}
	es := int64(t.Dtype.Size())
	chunkElems := max(readChunk/es, 1)
	buf := make([]byte, min(t.End-t.Begin, chunkElems*es))
	pos := f.h.dataOff + t.Begin
	for i := int64(0); i < int64(len(dst)); i += chunkElems {
		n := min(chunkElems, int64(len(dst))-i)
		b := buf[:n*es]
		if err := f.pread(name, b, pos); err != nil {
			return err
		}
		DecodeFloat32(dst[i:i+n], b, t.Dtype)
		pos += n * es
	}
	return f.checkSize()
}

// ReadBytes reads the tensor's raw little-endian bytes into dst (len = the
// tensor's byte size) with pread, for callers that keep a dtype as stored
// (BF16 weights stay BF16) in memory they own. Like ReadFloat32 it checks
// the file's size before and after reading, so a file truncated or
// rewritten to another size while open gives an error naming it, never
// SIGBUS.
func (f *File) ReadBytes(name string, dst []byte) error {
	t, ok := f.Info(name)
	if !ok {
		return fmt.Errorf("%s: no tensor %q", f.path, name)
	}
	if int64(len(dst)) != t.End-t.Begin {
		return fmt.Errorf("%s: tensor %q has %d bytes, destination %d", f.path, name, t.End-t.Begin, len(dst))
	}
	if err := f.readable(); err != nil {
		return err
	}
	if err := f.pread(name, dst, f.h.dataOff+t.Begin); err != nil {
		return err
	}
	return f.checkSize()
}

// readable fails when the file is closed or no longer has the size its
// header was validated against.
func (f *File) readable() error {
	f.mapMu.Lock()
	closed := f.closed
	f.mapMu.Unlock()
	if closed {
		return fmt.Errorf("%s: file is closed", f.path)
	}
	return f.checkSize()
}

// pread fills b from offset pos; a short read (the file shrank) is an
// error naming the file and tensor.
func (f *File) pread(name string, b []byte, pos int64) error {
	if _, err := f.fd.ReadAt(b, pos); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("%s: tensor %q: reading %d bytes at offset %d: %v (file truncated while open?)", f.path, name, len(b), pos, err)
	}
	return nil
}

// AdviseSequential hints that b (a slice returned by Bytes) will be read
// once front to back.
func AdviseSequential(b []byte) { adviseSequential(pageAlign(b)) }

// AdviseDone hints that b (a slice returned by Bytes) is no longer needed in
// this process, which drops it from the resident set; the data stays in the
// page cache and is re-read on the next touch.
func AdviseDone(b []byte) { adviseDontNeed(pageAlign(b)) }

// pageAlign shrinks b to the whole pages inside it, as madvise requires.
func pageAlign(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	page := uintptr(os.Getpagesize())
	p := uintptr(unsafe.Pointer(&b[0]))
	start := (p + page - 1) &^ (page - 1)
	end := (p + uintptr(len(b))) &^ (page - 1)
	if end <= start {
		return nil
	}
	return b[start-p : end-p]
}
