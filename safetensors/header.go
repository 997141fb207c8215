package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
)

// MaxHeaderSize bounds the JSON header, as the Rust crate does (100 MB):
// a hostile length cannot make the parser allocate more than that.
const MaxHeaderSize = 100_000_000

// maxRank bounds a tensor's number of dimensions; real models use ≤ 8.
const maxRank = 64

// TensorInfo describes one tensor. Begin and End are byte offsets within
// the data section (after the header).
type TensorInfo struct {
	Name  string
	Dtype Dtype
	Shape []int
	Begin int64
	End   int64
}

// NumElements is the product of the shape (1 for a scalar).
func (t TensorInfo) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= int64(d)
	}
	return n
}

// header is a parsed, validated header.
type header struct {
	tensors  []TensorInfo // in data order
	byName   map[string]int
	metadata map[string]string
	dataOff  int64 // where the data section starts in the file (8+N)
}

// numElements multiplies a shape, failing on negative dims or overflow.
func numElements(shape []int64) (int64, error) {
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension %d in shape %v", d, shape)
		}
		if d != 0 && n > math.MaxInt64/d {
			return 0, fmt.Errorf("shape %v overflows", shape)
		}
		n *= d
	}
	return n, nil
}

type rawEntry struct {
	Dtype       *string  `json:"dtype"`
	Shape       *[]int64 `json:"shape"`
	DataOffsets *[]int64 `json:"data_offsets"`
}

// parseHeader validates the first bytes of a file of fileSize bytes. prefix
// holds at least min(fileSize, 8+N) bytes. Every error names the file and,
// where there is one, the tensor.
func parseHeader(path string, prefix []byte, fileSize int64) (*header, error) {
	if fileSize < 8 || len(prefix) < 8 {
		return nil, fmt.Errorf("%s: not a safetensors file: %d bytes, need at least 8", path, fileSize)
	}
	n := binary.LittleEndian.Uint64(prefix)
	if n > MaxHeaderSize {
		return nil, fmt.Errorf("%s: header length %d exceeds the %d-byte limit", path, n, MaxHeaderSize)
	}
	if int64(n) > fileSize-8 {
		return nil, fmt.Errorf("%s: header length %d runs past the end of the %d-byte file (truncated?)", path, n, fileSize)
	}
	if n < 2 {
		return nil, fmt.Errorf("%s: header length %d is too small for a JSON object", path, n)
	}
	if int64(len(prefix)) < 8+int64(n) {
		return nil, fmt.Errorf("%s: short read of header", path)
	}
	js := prefix[8 : 8+n]
	if js[0] != '{' {
		return nil, fmt.Errorf("%s: header does not start with '{' (not a safetensors file?)", path)
	}
	dataSize := fileSize - 8 - int64(n)
	h := &header{byName: map[string]int{}, dataOff: 8 + int64(n)}

	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	bad := func(err error) error { return fmt.Errorf("%s: malformed JSON header: %v", path, err) }
	if _, err := dec.Token(); err != nil { // '{', checked above
		return nil, bad(err)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, bad(err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, bad(fmt.Errorf("unexpected %v", tok))
		}
		if name == "__metadata__" {
			if h.metadata != nil {
				return nil, fmt.Errorf("%s: duplicate __metadata__", path)
			}
			var md map[string]string
			if err := dec.Decode(&md); err != nil {
				return nil, fmt.Errorf("%s: __metadata__ must map strings to strings: %v", path, err)
			}
			if md == nil {
				md = map[string]string{}
			}
			h.metadata = md
			continue
		}
		if _, dup := h.byName[name]; dup {
			return nil, fmt.Errorf("%s: tensor %q: duplicate name in header", path, name)
		}
		var e rawEntry
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("%s: tensor %q: malformed entry: %v", path, name, err)
		}
		t, err := checkEntry(name, &e, dataSize)
		if err != nil {
			return nil, fmt.Errorf("%s: tensor %q: %v", path, name, err)
		}
		h.byName[name] = len(h.tensors)
		h.tensors = append(h.tensors, t)
	}
	if _, err := dec.Token(); err != nil { // '}'
		return nil, bad(err)
	}
	// Only whitespace (the writer's space padding) may follow the object.
	rest := js[dec.InputOffset():]
	if len(bytes.TrimRight(rest, " \t\r\n")) != 0 {
		return nil, bad(errors.New("trailing data after the JSON object"))
	}
	if h.metadata == nil {
		h.metadata = map[string]string{}
	}

	// The spec requires the tensors to tile the data section exactly:
	// sorted by offset, each begins where the previous ended, no gaps.
	order := make([]TensorInfo, len(h.tensors))
	copy(order, h.tensors)
	sort.SliceStable(order, func(i, j int) bool {
		if order[i].Begin != order[j].Begin {
			return order[i].Begin < order[j].Begin
		}
		return order[i].End < order[j].End
	})
	var pos int64
	for _, t := range order {
		if t.Begin < pos {
			return nil, fmt.Errorf("%s: tensor %q: data [%d,%d) overlaps the previous tensor (ends at %d)", path, t.Name, t.Begin, t.End, pos)
		}
		if t.Begin > pos {
			return nil, fmt.Errorf("%s: tensor %q: gap in the data section: starts at %d, previous tensor ends at %d", path, t.Name, t.Begin, pos)
		}
		pos = t.End
	}
	if pos != dataSize { // pos > dataSize was rejected per tensor
		return nil, fmt.Errorf("%s: tensors cover %d bytes but the data section has %d (trailing bytes)", path, pos, dataSize)
	}
	h.tensors = order
	for i, t := range order {
		h.byName[t.Name] = i
	}
	return h, nil
}

func checkEntry(name string, e *rawEntry, dataSize int64) (TensorInfo, error) {
	t := TensorInfo{Name: name}
	if e.Dtype == nil || e.Shape == nil || e.DataOffsets == nil {
		return t, errors.New(`entry needs "dtype", "shape" and "data_offsets"`)
	}
	t.Dtype = Dtype(*e.Dtype)
	if !t.Dtype.Valid() {
		return t, fmt.Errorf("unknown dtype %q", *e.Dtype)
	}
	if len(*e.Shape) > maxRank {
		return t, fmt.Errorf("rank %d exceeds %d", len(*e.Shape), maxRank)
	}
	nel, err := numElements(*e.Shape)
	if err != nil {
		return t, err
	}
	off := *e.DataOffsets
	if len(off) != 2 {
		return t, fmt.Errorf("data_offsets must be [begin, end], got %d numbers", len(off))
	}
	t.Begin, t.End = off[0], off[1]
	if t.Begin < 0 || t.End < t.Begin {
		return t, fmt.Errorf("data_offsets [%d,%d] are not an increasing range", t.Begin, t.End)
	}
	if t.End > dataSize {
		return t, fmt.Errorf("data_offsets [%d,%d] run past the %d-byte data section (truncated file?)", t.Begin, t.End, dataSize)
	}
	size := int64(t.Dtype.Size())
	if nel > math.MaxInt64/size {
		return t, fmt.Errorf("shape %v overflows", *e.Shape)
	}
	if nel*size != t.End-t.Begin {
		return t, fmt.Errorf("%s shape %v needs %d bytes but data_offsets [%d,%d] hold %d", t.Dtype, *e.Shape, nel*size, t.Begin, t.End, t.End-t.Begin)
	}
	t.Shape = make([]int, len(*e.Shape))
	for i, d := range *e.Shape {
		if int64(int(d)) != d {
			return t, fmt.Errorf("dimension %d too large for this platform", d)
		}
		t.Shape[i] = int(d)
	}
	return t, nil
}

// encodeHeader builds the header bytes (length prefix included) for tensors
// laid out in order, padded with spaces so the data starts 8-byte aligned,
// as the Rust crate writes it. It fills in Begin/End.
func encodeHeader(tensors []TensorInfo, metadata map[string]string) ([]byte, int64, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	if len(metadata) > 0 {
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString(`"__metadata__":{`)
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(&b, k)
			b.WriteByte(':')
			writeJSONString(&b, metadata[k])
		}
		b.WriteByte('}')
		first = false
	}
	seen := make(map[string]bool, len(tensors))
	var pos int64
	for i := range tensors {
		t := &tensors[i]
		if t.Name == "__metadata__" || t.Name == "" {
			return nil, 0, fmt.Errorf("invalid tensor name %q", t.Name)
		}
		if seen[t.Name] {
			return nil, 0, fmt.Errorf("tensor %q declared twice", t.Name)
		}
		seen[t.Name] = true
		if !t.Dtype.Valid() {
			return nil, 0, fmt.Errorf("tensor %q: unknown dtype %q", t.Name, t.Dtype)
		}
		shape := make([]int64, len(t.Shape))
		for j, d := range t.Shape {
			shape[j] = int64(d)
		}
		nel, err := numElements(shape)
		if err != nil {
			return nil, 0, fmt.Errorf("tensor %q: %v", t.Name, err)
		}
		size := nel * int64(t.Dtype.Size())
		t.Begin, t.End = pos, pos+size
		pos += size
		if !first {
			b.WriteByte(',')
		}
		first = false
		writeJSONString(&b, t.Name)
		fmt.Fprintf(&b, `:{"dtype":"%s","shape":[`, t.Dtype)
		for j, d := range t.Shape {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprint(&b, d)
		}
		fmt.Fprintf(&b, `],"data_offsets":[%d,%d]}`, t.Begin, t.End)
	}
	b.WriteByte('}')
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	if b.Len() > MaxHeaderSize {
		return nil, 0, fmt.Errorf("header of %d bytes exceeds the %d-byte limit", b.Len(), MaxHeaderSize)
	}
	out := make([]byte, 8, 8+b.Len())
	binary.LittleEndian.PutUint64(out, uint64(b.Len()))
	return append(out, b.Bytes()...), pos, nil
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)           // cannot fail for a string
	b.Truncate(b.Len() - 1) // Encode appends '\n'
}
