package safetensors

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/warm-rm/warm/internal/atomicfile"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// File names of a HuggingFace model directory.
const (
	SingleFileName = "model.safetensors"
	IndexFileName  = "model.safetensors.index.json"
)

// DefaultShardSize is HF's default max_shard_size ("5GB").
const DefaultShardSize = 5_000_000_000

// Checkpoint is a model's weights: a HF directory holding model.safetensors
// or model.safetensors.index.json plus shards, or a single .safetensors file.
type Checkpoint struct {
	path   string
	files  []*File
	byName map[string]*File
	names  []string
	dupErr error
}

// index is model.safetensors.index.json.
type index struct {
	Metadata  map[string]any    `json:"metadata"`
	WeightMap map[string]string `json:"weight_map"`
}

// OpenCheckpoint opens a directory or a single file. In a directory,
// model.safetensors wins over an index, as in HF transformers.
func OpenCheckpoint(path string) (*Checkpoint, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	c := &Checkpoint{path: path, byName: map[string]*File{}}
	if !st.IsDir() {
		f, err := Open(path)
		if err != nil {
			return nil, err
		}
		c.add(f)
		c.finish()
		return c, nil
	}
	single := filepath.Join(path, SingleFileName)
	if _, err := os.Stat(single); err == nil {
		f, err := Open(single)
		if err != nil {
			return nil, err
		}
		c.add(f)
		c.finish()
		return c, nil
	}
	idxPath := filepath.Join(path, IndexFileName)
	raw, err := os.ReadFile(idxPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: no %s or %s", path, SingleFileName, IndexFileName)
	}
	if err != nil {
		return nil, err
	}
	var idx index
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, fmt.Errorf("%s: %v", idxPath, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("%s: empty weight_map", idxPath)
	}
	shards := map[string]bool{}
	for name, file := range idx.WeightMap {
		if file == "" || filepath.Base(file) != file || strings.HasPrefix(file, ".") {
			return nil, fmt.Errorf("%s: tensor %q: bad shard file name %q", idxPath, name, file)
		}
		shards[file] = true
	}
	shardNames := make([]string, 0, len(shards))
	for s := range shards {
		shardNames = append(shardNames, s)
	}
	sort.Strings(shardNames)
	for _, s := range shardNames {
		f, err := Open(filepath.Join(path, s))
		if err != nil {
			c.Close()
			return nil, err
		}
		c.add(f)
	}
	// Every tensor of every shard is in the map, pointing at its shard,
	// and every mapped tensor exists: a stale index must not go unnoticed.
	for name, file := range idx.WeightMap {
		f := c.byName[name]
		if f == nil {
			c.Close()
			return nil, fmt.Errorf("%s: tensor %q: listed for %s but not found there", idxPath, name, file)
		}
		if filepath.Base(f.Path()) != file {
			c.Close()
			return nil, fmt.Errorf("%s: tensor %q: listed for %s but found in %s", idxPath, name, file, filepath.Base(f.Path()))
		}
	}
	for name, f := range c.byName {
		if _, ok := idx.WeightMap[name]; !ok {
			c.Close()
			return nil, fmt.Errorf("%s: tensor %q of %s is missing from the weight_map", idxPath, name, f.Path())
		}
	}
	if c.dupErr != nil {
		c.Close()
		return nil, c.dupErr
	}
	c.finish()
	return c, nil
}

func (c *Checkpoint) add(f *File) {
	c.files = append(c.files, f)
	for _, t := range f.h.tensors {
		if prev, dup := c.byName[t.Name]; dup && c.dupErr == nil {
			c.dupErr = fmt.Errorf("tensor %q is in both %s and %s", t.Name, prev.Path(), f.Path())
		}
		c.byName[t.Name] = f
	}
}

func (c *Checkpoint) finish() {
	c.names = make([]string, 0, len(c.byName))
	for n := range c.byName {
		c.names = append(c.names, n)
	}
	sort.Strings(c.names)
}

// Close unmaps all files.
func (c *Checkpoint) Close() error {
	var first error
	for _, f := range c.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Path returns the path the checkpoint was opened from.
func (c *Checkpoint) Path() string { return c.path }

// Files returns the paths of the .safetensors files, in shard order.
func (c *Checkpoint) Files() []string {
	out := make([]string, len(c.files))
	for i, f := range c.files {
		out[i] = f.Path()
	}
	return out
}

// Shards returns the open files, in shard order.
func (c *Checkpoint) Shards() []*File { return c.files }

// Names returns all tensor names, sorted.
func (c *Checkpoint) Names() []string { return append([]string(nil), c.names...) }

// Info returns a tensor's description (offsets within its shard's data section).
func (c *Checkpoint) Info(name string) (TensorInfo, bool) {
	f := c.byName[name]
	if f == nil {
		return TensorInfo{}, false
	}
	return f.Info(name)
}

// FileOf returns the shard holding name, or nil.
func (c *Checkpoint) FileOf(name string) *File { return c.byName[name] }

// Bytes returns a tensor's raw bytes, aliasing the mapping.
func (c *Checkpoint) Bytes(name string) ([]byte, error) {
	f := c.byName[name]
	if f == nil {
		return nil, fmt.Errorf("%s: no tensor %q", c.path, name)
	}
	return f.Bytes(name)
}

// Float32 returns a tensor converted to a new float32 slice.
func (c *Checkpoint) Float32(name string) ([]float32, error) {
	f := c.byName[name]
	if f == nil {
		return nil, fmt.Errorf("%s: no tensor %q", c.path, name)
	}
	return f.Float32(name)
}

// ReadFloat32 reads a tensor into dst with pread (see File.ReadFloat32).
func (c *Checkpoint) ReadFloat32(name string, dst []float32) error {
	f := c.byName[name]
	if f == nil {
		return fmt.Errorf("%s: no tensor %q", c.path, name)
	}
	return f.ReadFloat32(name, dst)
}

// ReadBytes reads a tensor's raw bytes into dst with pread (see File.ReadBytes).
func (c *Checkpoint) ReadBytes(name string, dst []byte) error {
	f := c.byName[name]
	if f == nil {
		return fmt.Errorf("%s: no tensor %q", c.path, name)
	}
	return f.ReadBytes(name, dst)
}

// Metadata returns the first shard's __metadata__.
func (c *Checkpoint) Metadata() map[string]string {
	if len(c.files) == 0 {
		return map[string]string{}
	}
	return c.files[0].Metadata()
}

// ShardName is HF's shard file name: model-00001-of-00003.safetensors.
func ShardName(i, n int) string { return fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, n) }

// PlanShards splits tensors (in order) into shards of at most shardSize data
// bytes, greedily as HF does; a tensor larger than shardSize gets a shard
// of its own. shardSize <= 0 means one shard.
func PlanShards(tensors []TensorInfo, shardSize int64) [][]TensorInfo {
	var shards [][]TensorInfo
	var cur []TensorInfo
	var size int64
	for _, t := range tensors {
		b := t.NumElements() * int64(t.Dtype.Size())
		if shardSize > 0 && len(cur) > 0 && size+b > shardSize {
			shards = append(shards, cur)
			cur, size = nil, 0
		}
		cur = append(cur, t)
		size += b
	}
	if len(cur) > 0 || len(shards) == 0 {
		shards = append(shards, cur)
	}
	return shards
}

// CheckpointWriter streams a checkpoint into a directory: one
// model.safetensors, or shards and an index when the data exceeds the
// shard size. Data is written in declared order across shard boundaries.
type CheckpointWriter struct {
	dir    string
	shards [][]TensorInfo
	names  []string
	cur    int
	w      *Writer
	meta   map[string]string
	noSync bool
	total  int64
	done   []string // shard files completed
	closed bool
}

// CreateCheckpoint starts writing a checkpoint of tensors into dir (which
// must exist). shardSize <= 0 means never shard.
func CreateCheckpoint(dir string, tensors []TensorInfo, metadata map[string]string, shardSize int64, noSync bool) (*CheckpointWriter, error) {
	cw := &CheckpointWriter{dir: dir, shards: PlanShards(tensors, shardSize), meta: metadata, noSync: noSync}
	for _, t := range tensors {
		cw.total += t.NumElements() * int64(t.Dtype.Size())
	}
	if len(cw.shards) == 1 {
		cw.names = []string{SingleFileName}
	} else {
		for i := range cw.shards {
			cw.names = append(cw.names, ShardName(i, len(cw.shards)))
		}
	}
	if err := cw.open(0); err != nil {
		return nil, err
	}
	return cw, nil
}

func (cw *CheckpointWriter) open(i int) error {
	w, err := Create(filepath.Join(cw.dir, cw.names[i]), cw.shards[i], cw.meta)
	if err != nil {
		cw.Abort()
		return err
	}
	w.NoSync = cw.noSync
	cw.cur, cw.w = i, w
	return nil
}

// Write appends data, moving to the next shard when one is full.
func (cw *CheckpointWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if cw.w == nil {
			return n, errors.New("safetensors: write past the end of the checkpoint")
		}
		room := cw.w.total - cw.w.written
		k := int64(len(p))
		if k > room {
			k = room
		}
		m, err := cw.w.Write(p[:k])
		n += m
		if err != nil {
			cw.Abort()
			return n, err
		}
		p = p[k:]
		if cw.w.written == cw.w.total && cw.cur+1 < len(cw.shards) {
			if err := cw.finishShard(); err != nil {
				return n, err
			}
			if err := cw.open(cw.cur + 1); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func (cw *CheckpointWriter) finishShard() error {
	if err := cw.w.Close(); err != nil {
		cw.w = nil
		cw.Abort()
		return err
	}
	cw.done = append(cw.done, filepath.Join(cw.dir, cw.names[cw.cur]))
	cw.w = nil
	return nil
}

// Close finishes the last shard and writes the index when sharded.
func (cw *CheckpointWriter) Close() error {
	if cw.closed {
		return errors.New("safetensors: CheckpointWriter already closed")
	}
	if cw.w == nil || cw.cur != len(cw.shards)-1 {
		cw.Abort()
		return fmt.Errorf("%s: checkpoint incomplete", cw.dir)
	}
	if err := cw.finishShard(); err != nil {
		return err
	}
	cw.closed = true
	if len(cw.shards) == 1 {
		return nil
	}
	idx := index{Metadata: map[string]any{"total_size": cw.total}, WeightMap: map[string]string{}}
	for i, s := range cw.shards {
		for _, t := range s {
			idx.WeightMap[t.Name] = cw.names[i]
		}
	}
	js, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(cw.dir, IndexFileName), append(js, '\n')); err != nil {
		cw.closed = false
		cw.Abort()
		return err
	}
	return nil
}

// Abort removes everything written so far.
func (cw *CheckpointWriter) Abort() {
	if cw.w != nil {
		cw.w.Abort()
		cw.w = nil
	}
	for _, p := range cw.done {
		os.Remove(p)
	}
	cw.done = nil
	cw.closed = true
}

// SaveCheckpoint writes tensors as dtype (F32 or BF16) into dir (created if
// needed): model.safetensors, or shards + model.safetensors.index.json when
// the total exceeds shardSize (<= 0: no sharding). A stale single file or
// index of the other layout is removed so the directory is unambiguous.
func SaveCheckpoint(dir string, tensors []Tensor, dtype Dtype, metadata map[string]string, shardSize int64) error {
	if err := checkOutDtype(dtype); err != nil {
		return err
	}
	infos, err := tensorInfos(tensors, dtype)
	if err != nil {
		return fmt.Errorf("%s: %v", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cw, err := CreateCheckpoint(dir, infos, metadata, shardSize, false)
	if err != nil {
		return err
	}
	var scratch []byte
	for _, t := range tensors {
		if scratch, err = writeTensorData(cw, t.Data, dtype, scratch); err != nil {
			cw.Abort()
			return err
		}
	}
	if err := cw.Close(); err != nil {
		return err
	}
	if len(cw.shards) == 1 {
		os.Remove(filepath.Join(dir, IndexFileName))
	} else {
		os.Remove(filepath.Join(dir, SingleFileName))
	}
	return nil
}
