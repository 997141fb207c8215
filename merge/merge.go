package merge

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/warm-rm/warm/safetensors"
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
	Tensors      int
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

// tokenizerFiles are copied from the first (or base) model directory.
var tokenizerFiles = []string{"config.json", "tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"}

// Merge merges opt.Models into out: an HF model directory, or a single
// .safetensors file when out ends in .safetensors. Everything is written
// under a temporary name next to out and renamed only on success; on error
// nothing is left behind.
func Merge(out string, opt Options) (*Result, error) {
	start := time.Now()
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	if out == "" {
		return nil, errors.New("no output path")
	}
	if _, err := os.Stat(out); err == nil && !opt.Overwrite {
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
	// Output dtypes.
	outInfos := make([]safetensors.TensorInfo, len(plan))
	var bytesRead, bytesOut int64
	for i, t := range plan {
		dt := t.Dtype
		if t.Dtype.IsFloat() {
			switch strings.ToUpper(opt.Dtype) {
			case "F32":
				dt = safetensors.F32
			case "BF16":
				dt = safetensors.BF16
			}
		}
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

	// Output location.
	single := strings.HasSuffix(out, ".safetensors")
	tmp, err := os.MkdirTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp*")
	if err != nil {
		waitHash()
		return nil, err
	}
	os.Chmod(tmp, 0o755) // MkdirTemp makes 0700
	fail := func(err error) (*Result, error) {
		waitHash()
		os.RemoveAll(tmp)
		return nil, err
	}
	meta := map[string]string{"format": "pt", "merged_by": "warm " + opt.Version, "merge_method": string(opt.Method)}
	var w io.Writer
	var closeOut func() error
	var abortOut func()
	if single {
		sw, err := safetensors.Create(filepath.Join(tmp, "model.safetensors"), outInfos, meta)
		if err != nil {
			return fail(err)
		}
		sw.NoSync = opt.NoSync
		w, closeOut, abortOut = sw, sw.Close, sw.Abort
	} else {
		cw, err := safetensors.CreateCheckpoint(tmp, outInfos, meta, opt.ShardSize, opt.NoSync)
		if err != nil {
			return fail(err)
		}
		w, closeOut, abortOut = cw, cw.Close, cw.Abort
	}

	m := newMerger(&opt, cps, bytesRead+bytesOut, len(plan))
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
		os.RemoveAll(tmp)
		return nil, err
	}
	res := &Result{Out: out, Tensors: len(plan), Dropped: dropped, BytesRead: bytesRead, BytesWritten: bytesOut, Inputs: inputs}

	final := tmp
	if single {
		final = filepath.Join(tmp, "model.safetensors")
	} else {
		// config and tokenizer from the base model if there is one, else the first.
		src := opt.Models[0]
		if opt.Base != "" {
			src = opt.Base
		}
		if st, err := os.Stat(src); err == nil && st.IsDir() {
			for _, name := range tokenizerFiles {
				if err := copyFile(filepath.Join(src, name), filepath.Join(tmp, name)); err != nil && !os.IsNotExist(err) {
					return fail(err)
				}
			}
		}
		if err := os.WriteFile(filepath.Join(tmp, "README.md"), []byte(modelCard(&opt, res)), 0o644); err != nil {
			return fail(err)
		}
	}
	if err := replace(final, out, opt.Overwrite); err != nil {
		return fail(err)
	}
	if single {
		os.RemoveAll(tmp)
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// replace renames src to dst; an existing dst (when allowed) is moved aside
// first and removed only after the rename succeeded.
func replace(src, dst string, overwrite bool) error {
	if _, err := os.Lstat(dst); err == nil {
		if !overwrite {
			return fmt.Errorf("%s already exists", dst)
		}
		old := dst + ".old"
		os.RemoveAll(old)
		if err := os.Rename(dst, old); err != nil {
			return err
		}
		if err := os.Rename(src, dst); err != nil {
			os.Rename(old, dst)
			return err
		}
		return os.RemoveAll(old)
	}
	return os.Rename(src, dst)
}

func sameFile(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// merger holds the per-run state for streaming tensors.
type merger struct {
	opt      *Options
	cps      []*safetensors.Checkpoint // models, then base
	k        int                       // number of models
	workers  int
	scratch  []*scratch
	bufs     [2][]float32 // double-buffered output blocks
	progress *progress
	bits     []uint32 // ties: |task vector| bits of the current tensor
}

func newMerger(opt *Options, cps []*safetensors.Checkpoint, total int64, tensors int) *merger {
	m := &merger{opt: opt, cps: cps, k: len(opt.Models), workers: opt.Workers}
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
	j := &job{name: t.Name, n: n, xs: ins[:m.k], outDt: outDt, accF64: m.opt.Accum == "f64"}
	if m.opt.Base != "" {
		j.base = &ins[m.k]
	}
	if err := m.setup(j); err != nil {
		return err
	}
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
		var wg sync.WaitGroup
		errs := make([]error, m.workers)
		per := (hi - lo + m.workers - 1) / m.workers
		per = (per + 15) &^ 15 // keep every part's start aligned
		for wi := 0; wi < m.workers; wi++ {
			a, b := lo+wi*per, min(lo+(wi+1)*per, hi)
			if a >= b {
				break
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[wi] = j.run(a, b, buf[(a-lo)*osize:(b-lo)*osize], m.scratch[wi])
			}()
		}
		wg.Wait()
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

// setup fills the method-specific fields of j.
func (m *merger) setup(j *job) error {
	o := m.opt
	ws := o.weights()
	sumW := 0.0
	for _, w := range ws {
		sumW += w
	}
	norm := o.normalize()
	switch o.Method {
	case Linear, TaskArithmetic:
		j.coef = make([]float64, m.k)
		for i, w := range ws {
			c := w
			if norm {
				c /= sumW
			}
			if o.Method == TaskArithmetic {
				c *= o.Lambda
			}
			j.coef[i] = c
		}
	case SLERP:
		// The first endpoint is the base when given, else the first model.
		a, b := &j.xs[0], (*input)(nil)
		if j.base != nil {
			a, b = j.base, &j.xs[0]
			j.xs = []input{*a, *b}
			j.base = nil
		} else {
			b = &j.xs[1]
		}
		s0, s1 := slerpCoef(a, b, j.n, o.T)
		j.coef = []float64{s0, s1}
	case TIES, DARE:
		j.sparse, j.w, j.norm, j.lambda = true, ws, norm, o.Lambda
		j.ties = o.Method == TIES || o.DareThen == TIES
		j.scale = make([]float64, m.k)
		dens := o.densities()
		if o.Method == TIES {
			j.thresh, j.tieEnd = make([]float32, m.k), make([]int, m.k)
			if len(m.bits) < j.n {
				m.bits = make([]uint32, j.n)
			}
			bits := m.bits[:j.n]
			for i := range j.xs {
				j.scale[i] = 1
				k := int(dens[i] * float64(j.n))
				if k < 1 {
					k = 1 // mergekit refuses k = 0; keep the largest element
				}
				taskMagnitudes(bits, &j.xs[i], j.base, m.scratch[0])
				j.thresh[i], j.tieEnd[i] = topKThreshold(bits, k)
			}
		} else {
			j.dropP = make([]uint64, m.k)
			h := fnv.New64a()
			h.Write([]byte(j.name))
			j.nameKey, j.seed = h.Sum64(), o.Seed
			for i, d := range dens {
				j.scale[i] = 1 / d
				if d < 1 {
					j.dropP[i] = uint64(d * (1 << 64))
				} else {
					j.scale[i] = 1
				}
			}
		}
	}
	return nil
}

// taskMagnitudes writes the bits of |x − base| (float32) into bits.
func taskMagnitudes(bits []uint32, x, base *input, s *scratch) {
	for c := 0; c < len(bits); c += chunk {
		m := min(chunk, len(bits)-c)
		magBits(bits[c:c+m], view(x, c, c+m, s.dec[0]), view(base, c, c+m, s.base))
	}
}

// slerpCoef returns mergekit's SLERP coefficients for endpoints a (t=0) and
// b (t=1), computed over the whole tensor in float64: with the unit vectors'
// cosine dot, s0 = sin((1−t)θ)/sin θ and s1 = sin(tθ)/sin θ, applied to the
// original (unnormalised) tensors. Nearly colinear vectors (|dot| > 0.9995)
// fall back to lerp, as mergekit does.
func slerpCoef(a, b *input, n int, t float64) (float64, float64) {
	var dot, na, nb float64
	bufA, bufB := make([]float32, chunk), make([]float32, chunk)
	for c := 0; c < n; c += chunk {
		m := min(chunk, n-c)
		x, y := view(a, c, c+m, bufA), view(b, c, c+m, bufB)
		for k := range m {
			xa, yb := float64(x[k]), float64(y[k])
			dot += xa * yb
			na += xa * xa
			nb += yb * yb
		}
	}
	const eps = 1e-8
	na, nb = math.Sqrt(na), math.Sqrt(nb)
	if na > eps {
		dot /= na
	}
	if nb > eps {
		dot /= nb
	}
	if math.Abs(dot) > 0.9995 {
		return 1 - t, t
	}
	theta := math.Acos(dot)
	sin := math.Sin(theta)
	return math.Sin(theta-theta*t) / sin, math.Sin(theta*t) / sin
}
