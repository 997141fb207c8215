package safetensors

import (
	"fmt"
	"io"
	"os"
	"sort"
	"unsafe"
)

// File is one open .safetensors file, memory-mapped read-only.
type File struct {
	path string
	data []byte // the whole file (mmap)
	h    *header
}

// Open maps path and validates its header. Nothing is copied: tensors are
// paged in when first touched.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
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
	data, err := mapFile(f, size)
	if err != nil {
		return nil, fmt.Errorf("%s: mmap: %v", path, err)
	}
	return &File{path: path, data: data, h: h}, nil
}

// Close unmaps the file. Slices returned by Bytes become invalid.
func (f *File) Close() error {
	if f == nil || f.data == nil {
		return nil
	}
	err := unmapFile(f.data)
	f.data = nil
	return err
}

// Path returns the path the file was opened from.
func (f *File) Path() string { return f.path }

// Size returns the file size in bytes.
func (f *File) Size() int64 { return int64(len(f.data)) }

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

// Bytes returns the tensor's raw little-endian bytes, aliasing the mapping:
// valid until Close, and must not be written.
func (f *File) Bytes(name string) ([]byte, error) {
	t, ok := f.Info(name)
	if !ok {
		return nil, fmt.Errorf("%s: no tensor %q", f.path, name)
	}
	if f.data == nil {
		return nil, fmt.Errorf("%s: file is closed", f.path)
	}
	off := f.h.dataOff
	return f.data[off+t.Begin : off+t.End : off+t.End], nil
}

// Float32 returns a new slice with the tensor converted from F32, F16, BF16
// or F64.
func (f *File) Float32(name string) ([]float32, error) {
	t, ok := f.Info(name)
	if !ok {
		return nil, fmt.Errorf("%s: no tensor %q", f.path, name)
	}
	if !t.Dtype.IsFloat() {
		return nil, fmt.Errorf("%s: tensor %q has dtype %s, not a float type", f.path, name, t.Dtype)
	}
	b, err := f.Bytes(name)
	if err != nil {
		return nil, err
	}
	out := make([]float32, t.NumElements())
	DecodeFloat32(out, b, t.Dtype)
	return out, nil
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
