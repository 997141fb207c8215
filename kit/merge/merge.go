package merge

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unsafe"

	"github.com/warm-rm/warm/internal/atomicfile"
	"github.com/warm-rm/warm/internal/parallel"
	"github.com/warm-rm/warm/kit/safetensors"
)

// dropEvery: input pages are released every dropEvery blocks (4M
// elements, 16 MB of F32 per input): RSS ~135 MB for 6 inputs.
const dropEvery = 4

// blockElems is how many elements are computed (by all workers together)
// before they are handed to the writer: 1M elements, 4 MB of F32.
const blockElems = 1 << 20

// Result summarises a finished merge.
type Result struct {
	Out          string
	Method       string // the method run (aliases resolved)
	Models       int    // models merged (the base not counted)
	Tensors      int
	Layers       int      // layers found in the tensor names (for gradients)
	Dropped      []string // GPT-2 buffers present in only some inputs
	BytesRead    int64    // tensor bytes read from the inputs (once each)
	BytesWritten int64    // tensor bytes written
	Elapsed      time.Duration
	Inputs       []InputFile // hashed .safetensors files, models then base
}

// InputFile is one input file and its sha256.
type InputFile struct {
	Model  string
	Path   string
	SHA256 string
}

// Merge merges opt.Models into out: an HF model directory, or a single
// .safetensors file when out ends in .safetensors. Everything is written
// into a stage next to out (internal/atomicfile) that replaces out only on
// success: on error nothing is left behind, an existing out is kept until
// the new one is in place, and stages left by killed runs are removed.
func Merge(out string, opt Options) (*Result, error) {
	start := time.Now()
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	meth, _ := lookupMethod(opt.Method)
	if out == "" {
		return nil, errors.New("no output path")
	}
	if _, err := os.Lstat(out); err == nil && !opt.Overwrite {
		return nil, fmt.Errorf("%s already exists (use --force to replace it)", out)
	}
	paths := append([]string(nil), opt.Models...)
	if opt.Base != "" {
		paths = append(paths, opt.Base)
	}
	for _, p := range paths {
		if sameFile(p, out) {
			return nil, fmt.Errorf("output %s is also an input", out)
		}
	}
	if err := checkConfigs(paths); err != nil {
		return nil, err
	}
	tokSrc := paths[0]
	if opt.Base != "" {
		tokSrc = opt.Base
	}
	if err := checkTokenizers(opt.TokenizerSource, tokSrc, paths); err != nil {
		return nil, err
	}
	cps := make([]*safetensors.Checkpoint, 0, len(paths))
	defer func() {
		for _, c := range cps {
			c.Close()
		}
	}()
	for _, p := range paths {
		c, err := safetensors.OpenCheckpoint(p)
		if err != nil {
			return nil, err
		}
		cps = append(cps, c)
	}
	plan, dropped, err := planTensors(cps)
	if err != nil {
		return nil, err
	}
	layers := countLayers(plan)
	if r := opt.LayerRange; r != nil && (r[0] != 0 || r[1] != layers) {
		return nil, fmt.Errorf("layer_range [%d, %d]: the models have %d layers; warm merges whole models only (layer_range: [0, %d])", r[0], r[1], layers, layers)
	}
	// Output dtypes.
	outInfos := make([]safetensors.TensorInfo, len(plan))
	var bytesRead, bytesOut int64
	for i, t := range plan {
		dt := opt.outDtype(t.Dtype)
		outInfos[i] = safetensors.TensorInfo{Name: t.Name, Dtype: dt, Shape: t.Shape}
		bytesOut += t.NumElements() * int64(dt.Size())
		for _, c := range cps {
			u, _ := c.Info(t.Name)
			bytesRead += u.End - u.Begin
		}
	}

	// Hash the input files in the background while merging: the pages are
	// being read anyway, and the model card needs the digests.
	var inputs []InputFile
	for i, c := range cps {
		for _, f := range c.Files() {
			inputs = append(inputs, InputFile{Model: paths[i], Path: f})
		}
	}
	hashDone := make(chan error, 1)
	go func() { hashDone <- hashFiles(inputs, opt.HashCache) }()
	waitHash := func() error { return <-hashDone }

	// The stage: a hidden directory next to out, removed on any failure.
	stage, err := atomicfile.NewDir(out)
	if err != nil {
		waitHash()
		return nil, err
	}
	defer stage.Abort()
	fail := func(err error) (*Result, error) {
		waitHash()
		return nil, err
	}
	single := strings.HasSuffix(out, ".safetensors")
	meta := map[string]string{"format": "pt", "merged_by": "warm " + opt.Version, "merge_method": opt.Method}
	var w io.Writer
	var closeOut func() error
	var abortOut func()
	if single {
		sw, err := safetensors.Create(filepath.Join(stage.Path, "model.safetensors"), outInfos, meta)
		if err != nil {
			return fail(err)
		}
		sw.NoSync = opt.NoSync
		w, closeOut, abortOut = sw, sw.Close, sw.Abort
	} else {
		cw, err := safetensors.CreateCheckpoint(stage.Path, outInfos, meta, opt.ShardSize, opt.NoSync)
		if err != nil {
			return fail(err)
		}
		w, closeOut, abortOut = cw, cw.Close, cw.Abort
	}

	m := newMerger(&opt, meth, cps, layers, bytesRead+bytesOut, len(plan))
	for i, t := range plan {
		if err := m.tensor(t, outInfos[i].Dtype, w); err != nil {
			if opt.Context != nil && opt.Context.Err() != nil {
				err = fmt.Errorf("interrupted; nothing written to %s", out)
			}
			abortOut()
			return fail(err)
		}
		m.progress.tensorDone()
	}
	if err := closeOut(); err != nil {
		return fail(err)
	}
	m.progress.finish()
	if err := waitHash(); err != nil {
		return nil, err
	}
	res := &Result{Out: out, Method: opt.Method, Models: len(opt.Models), Tensors: len(plan), Layers: layers, Dropped: dropped,
		BytesRead: bytesRead, BytesWritten: bytesOut, Inputs: inputs}
	if !single {
		if err := writeSidecars(stage.Path, tokSrc, &opt, res, outInfos); err != nil {
			return nil, err
		}
	}
	if err := fixModes(stage.Path); err != nil {
		return nil, err
	}
	if err := commit(stage, out, single, &opt); err != nil {
		return nil, err
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// commit moves the stage (or, for a single file, the file in it) into
// place: an existing out is moved aside under a hidden name and removed
// only once the new one is there.
func commit(stage *atomicfile.Dir, out string, single bool, opt *Options) error {
	if single {
		return atomicfile.ReplaceDir(filepath.Join(stage.Path, "model.safetensors"), out, opt.Overwrite)
	}
	if opt.NoSync { // benchmarks: no fsync of the tree
		return atomicfile.ReplaceDir(stage.Path, out, opt.Overwrite)
	}
	return stage.Commit(opt.Overwrite)
}

// merger holds the per-run state for streaming tensors.
type merger struct {
	opt      *Options
	meth     method
	cps      []*safetensors.Checkpoint // models, then base
	k        int                       // number of models
	layers   int
	workers  int
	scratch  []*scratch
	bufs     [2][]float32 // double-buffered output blocks
	progress *progress
	bits     []uint32 // rank-based sparsifiers: |task vector| bits of the current tensor
}

func newMerger(opt *Options, meth method, cps []*safetensors.Checkpoint, layers int, total int64, tensors int) *merger {
	m := &merger{opt: opt, meth: meth, cps: cps, k: len(opt.Models), layers: layers, workers: opt.Workers}
	if m.workers <= 0 {
		m.workers = 2
	}
	for i := 0; i < m.workers; i++ {
		m.scratch = append(m.scratch, newScratch(len(opt.Models)+1)) // +1: slerp moves the base among the inputs
	}
	for i := range m.bufs {
		m.bufs[i] = make([]float32, blockElems*2) // room for F64 output
	}
	m.progress = newProgress(opt.Progress, opt.ProgressNow, total, tensors)
	return m
}

func (m *merger) input(c *safetensors.Checkpoint, name string) input {
	b, _ := c.Bytes(name)
	info, _ := c.Info(name)
	return input{data: b, dtype: info.Dtype, file: c.FileOf(name).Path()}
}

// prepare asks the method for the tensor's kernel and inputs.
func (m *merger) prepare(t safetensors.TensorInfo, ins []input) (step, error) {
	c := &tensorCtx{name: t.Name, n: int(t.NumElements()), pos: layerPos(t.Name, m.layers), xs: ins[:m.k], opt: m.opt, m: m.meth,
		accF64: m.opt.Accum == "f64", scratch: m.scratch[0]}
	if m.opt.Base != "" {
		c.base = &ins[m.k]
	}
	c.bits = func(n int) []uint32 {
		if len(m.bits) < n {
			m.bits = make([]uint32, n)
		}
		return m.bits[:n]
	}
	return m.meth.tensor(c)
}

// countLayers is one more than the largest layer index in the tensor names
// (0 when none has one).
func countLayers(plan []safetensors.TensorInfo) int {
	n := 0
	for _, t := range plan {
		if i, ok := layerIndex(t.Name); ok {
			n = max(n, i+1)
		}
	}
	return n
}

// tensor merges one tensor and writes it to w.
func (m *merger) tensor(t safetensors.TensorInfo, outDt safetensors.Dtype, w io.Writer) error {
	n := int(t.NumElements())
	ins := make([]input, len(m.cps))
	for i, c := range m.cps {
		ins[i] = m.input(c, t.Name)
		safetensors.AdviseSequential(ins[i].data)
	}
	defer func() {
		for _, in := range ins {
			safetensors.AdviseDone(in.data) // what the blocks left, and non-float tensors
		}
	}()
	var read int64
	for _, in := range ins {
		read += int64(len(in.data))
	}
	if !t.Dtype.IsFloat() {
		// Buffers such as position ids: copy when identical everywhere.
		for i := 1; i < len(ins); i++ {
			if !bytes.Equal(ins[0].data, ins[i].data) {
				return fmt.Errorf("tensor %q (%s) differs between %s and %s; non-float tensors must be identical", t.Name, t.Dtype, ins[0].file, ins[i].file)
			}
		}
		if _, err := w.Write(ins[0].data); err != nil {
			return err
		}
		m.progress.add(read + int64(len(ins[0].data)))
		return nil
	}
	st, err := m.prepare(t, ins)
	if err != nil {
		return err
	}
	j := &job{name: t.Name, n: n, outDt: outDt, step: st}
	osize := outDt.Size()
	// Compute blocks with all workers, write each block while the next
	// one is computed.
	writeErr := make(chan error, 1)
	pending := make(chan []byte) // unbuffered: a send waits until the previous write finished
	go func() {
		var err error
		for b := range pending {
			if err == nil {
				_, err = w.Write(b)
			}
		}
		writeErr <- err
	}()
	var runErr error
	dropped := 0 // elements whose input pages were dropped
	for bi, lo := 0, 0; lo < n; bi, lo = bi+1, lo+blockElems {
		hi := min(lo+blockElems, n)
		buf := unsafe.Slice((*byte)(unsafe.Pointer(&m.bufs[bi%2][0])), 8*blockElems)[:(hi-lo)*osize]
		// One aligned part per worker; a part's worker owns its scratch.
		per := (hi - lo + m.workers - 1) / m.workers
		per = (per + 15) &^ 15 // keep every part's start aligned
		parts := (hi - lo + per - 1) / per
		errs := make([]error, parts)
		parallel.JobsN(m.workers, parts, func(wi, p int) {
			a, b := lo+p*per, min(lo+(p+1)*per, hi)
			errs[p] = j.run(a, b, buf[(a-lo)*osize:(b-lo)*osize], m.scratch[wi])
		})
		if runErr = errors.Join(errs...); runErr != nil {
			break
		}
		if m.opt.Context != nil {
			if runErr = m.opt.Context.Err(); runErr != nil {
				break
			}
		}
		// Every dropEvery blocks, drop the inputs' pages read so far from
		// our resident set (the page cache keeps them), so RSS stays
		// bounded whatever the tensor size. Not every block: each madvise
		// costs a TLB shootdown on every core running our threads.
		if (bi+1)%dropEvery == 0 {
			for _, in := range ins {
				size := in.dtype.Size()
				safetensors.AdviseDone(in.data[dropped*size : hi*size])
			}
			dropped = hi
		}
		pending <- buf
		m.progress.add(int64(hi-lo)*int64(osize) + int64(float64(read)*float64(hi-lo)/float64(n)))
	}
	close(pending)
	werr := <-writeErr
	if runErr != nil {
		return runErr
	}
	if n == 0 {
		m.progress.add(read)
	}
	return werr
}
