package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
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
	h := &header{dataOff: 8 + int64(n)}
	tensors, metadata, err := scanHeader(js, dataSize)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	h.tensors, h.metadata = tensors, metadata
	if h.metadata == nil {
		h.metadata = map[string]string{}
	}

	// The spec requires the tensors to tile the data section exactly:
	// sorted by offset, each begins where the previous ended, no gaps. The
	// header may list them in any order (the Rust crate writes them sorted
	// by dtype, then name); they are kept in data order.
	sort.SliceStable(h.tensors, func(i, j int) bool {
		a, b := &h.tensors[i], &h.tensors[j]
		if a.Begin != b.Begin {
			return a.Begin < b.Begin
		}
		return a.End < b.End
	})
	h.byName = make(map[string]int, len(h.tensors))
	for i, t := range h.tensors {
		if _, dup := h.byName[t.Name]; dup {
			return nil, fmt.Errorf("%s: tensor %q: duplicate name in header", path, t.Name)
		}
		h.byName[t.Name] = i
	}
	var pos int64
	for _, t := range h.tensors {
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
	return h, nil
}

// scanHeader parses the header JSON (js starts with '{'), checking every
// entry against a data section of dataSize bytes. Duplicate names are
// found by the caller, in one map with the name index.
func scanHeader(js []byte, dataSize int64) ([]TensorInfo, map[string]string, error) {
	s := &scanner{b: js}
	// Every entry has a "data_offsets" key: counting them sizes the slice
	// once instead of growing it by doubling (an over-count only when the
	// key also occurs inside names or metadata).
	tensors := make([]TensorInfo, 0, bytes.Count(js, []byte(`"data_offsets"`)))
	var metadata map[string]string
	malformed := func(err error) error { return fmt.Errorf("malformed JSON header: %v", err) }
	if err := s.expect('{'); err != nil {
		return nil, nil, malformed(err)
	}
	if s.peek() == '}' {
		s.pos++
	} else {
		for idx := 0; ; idx++ {
			keyAt := s.pos
			name, err := s.str()
			if err != nil {
				s.pos = keyAt
				return nil, nil, fmt.Errorf("entry #%d (from byte %d of the header): bad name: %v", idx, keyAt, err)
			}
			if err := s.expect(':'); err != nil {
				return nil, nil, malformed(err)
			}
			switch {
			case name == "__metadata__":
				if metadata != nil {
					return nil, nil, errors.New("duplicate __metadata__")
				}
				md, err := s.metadata()
				if err != nil {
					return nil, nil, fmt.Errorf("__metadata__ must map strings to strings: %v", err)
				}
				metadata = md
			case name == "":
				return nil, nil, fmt.Errorf("entry #%d (byte %d of the header): empty tensor name", idx, keyAt)
			default:
				t, err := s.entry(name, dataSize)
				if err != nil {
					return nil, nil, fmt.Errorf("tensor %q: %v", name, err)
				}
				tensors = append(tensors, t)
			}
			c := s.peek()
			if c == '}' {
				s.pos++
				break
			}
			if c != ',' {
				return nil, nil, malformed(s.errorf("want ',' or '}' after an entry"))
			}
			s.pos++
		}
	}
	// Only whitespace (the writer's space padding) may follow the object.
	if s.peek() != 0 {
		return nil, nil, malformed(errors.New("trailing data after the JSON object"))
	}
	return tensors, metadata, nil
}

// metadata reads __metadata__: an object of strings, or null.
func (s *scanner) metadata() (map[string]string, error) {
	if s.null() {
		return map[string]string{}, nil
	}
	if err := s.expect('{'); err != nil {
		return nil, err
	}
	md := map[string]string{}
	if s.peek() == '}' {
		s.pos++
		return md, nil
	}
	for {
		k, err := s.str()
		if err != nil {
			return nil, err
		}
		if err := s.expect(':'); err != nil {
			return nil, err
		}
		if s.peek() != '"' {
			return nil, s.errorf("value of %q is not a string", k)
		}
		v, err := s.str()
		if err != nil {
			return nil, err
		}
		md[k] = v
		switch s.peek() {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return md, nil
		default:
			return nil, s.errorf("want ',' or '}'")
		}
	}
}

// entry reads one tensor's {"dtype", "shape", "data_offsets"} object
// (other keys are skipped, as the Rust crate ignores them) and checks it.
func (s *scanner) entry(name string, dataSize int64) (TensorInfo, error) {
	t := TensorInfo{Name: name}
	if err := s.expect('{'); err != nil {
		return t, fmt.Errorf("malformed entry: %v", err)
	}
	var dtype string
	var shape, offs []int64
	var haveD, haveS, haveO bool
	if s.peek() == '}' {
		s.pos++
	} else {
		for {
			k, err := s.str()
			if err != nil {
				return t, fmt.Errorf("malformed entry: %v", err)
			}
			if err := s.expect(':'); err != nil {
				return t, fmt.Errorf("malformed entry: %v", err)
			}
			dup := false
			switch k {
			case "dtype":
				dup, haveD = haveD, true
				if dtype, err = s.str(); err != nil {
					return t, fmt.Errorf("dtype: %v", err)
				}
			case "shape":
				dup, haveS = haveS, true
				if shape, err = s.ints(s.shape[:]); err != nil {
					if strings.Contains(err.Error(), "more than") {
						return t, fmt.Errorf("rank exceeds %d", maxRank)
					}
					return t, fmt.Errorf("shape: %v", err)
				}
			case "data_offsets":
				dup, haveO = haveO, true
				if offs, err = s.ints(s.offs[:]); err != nil {
					if strings.Contains(err.Error(), "more than") {
						return t, errors.New("data_offsets must be [begin, end], got more than 2 numbers")
					}
					return t, fmt.Errorf("data_offsets: %v", err)
				}
			default:
				err = s.skip(0)
			}
			if err != nil {
				return t, fmt.Errorf("malformed entry: %v", err)
			}
			if dup {
				return t, fmt.Errorf("key %q given twice", k)
			}
			c := s.peek()
			if c == '}' {
				s.pos++
				break
			}
			if c != ',' {
				return t, fmt.Errorf("malformed entry: %v", s.errorf("want ',' or '}'"))
			}
			s.pos++
		}
	}
	if !haveD || !haveS || !haveO {
		return t, errors.New(`entry needs "dtype", "shape" and "data_offsets"`)
	}
	return checkEntry(t, dtype, shape, offs, dataSize, s.arena.intSlice)
}

func checkEntry(t TensorInfo, dtype string, shape, off []int64, dataSize int64, intSlice func(int) []int) (TensorInfo, error) {
	t.Dtype = Dtype(dtype)
	if !t.Dtype.Valid() {
		return t, fmt.Errorf("unknown dtype %q", dtype)
	}
	nel, err := numElements(shape)
	if err != nil {
		return t, err
	}
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
		return t, fmt.Errorf("shape %v overflows", shape)
	}
	if nel*size != t.End-t.Begin {
		return t, fmt.Errorf("%s shape %v needs %d bytes but data_offsets [%d,%d] hold %d", t.Dtype, shape, nel*size, t.Begin, t.End, t.End-t.Begin)
	}
	t.Shape = intSlice(len(shape))
	for i, d := range shape {
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
		if !utf8.ValidString(t.Name) {
			// JSON would silently turn the bad bytes into U+FFFD.
			return nil, 0, fmt.Errorf("tensor #%d: name %s is not valid UTF-8", i, strconv.QuoteToASCII(t.Name))
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
