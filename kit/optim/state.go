package optim

import (
	"fmt"
	"strconv"

	"github.com/warm-rm/warm/kit/safetensors"
)

// SaveState writes the AdamW moments and step count to path (safetensors:
// tensors "exp_avg.<param>" and "exp_avg_sq.<param>", step in metadata), so
// that a killed run resumes with the exact optimiser state.
func (o *AdamW) SaveState(path string) error {
	var ts []safetensors.Tensor
	for _, p := range o.Params() {
		m, v := o.m[p], o.v[p]
		if m == nil {
			m, v = make([]float32, len(p.W)), make([]float32, len(p.W))
		}
		ts = append(ts,
			safetensors.Tensor{Name: "exp_avg." + p.Name, Shape: p.Shape, Data: m},
			safetensors.Tensor{Name: "exp_avg_sq." + p.Name, Shape: p.Shape, Data: v})
	}
	return safetensors.WriteFloat32(path, ts, safetensors.F32, map[string]string{"step": strconv.Itoa(o.step)})
}

// LoadState restores what SaveState wrote. The optimiser's parameters must
// have the same names and sizes.
func (o *AdamW) LoadState(path string) error {
	f, err := safetensors.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	step, err := strconv.Atoi(f.Metadata()["step"])
	if err != nil {
		return fmt.Errorf("%s: bad or missing step in metadata", path)
	}
	for _, p := range o.Params() {
		m, err := f.Float32("exp_avg." + p.Name)
		if err != nil {
			return err
		}
		v, err := f.Float32("exp_avg_sq." + p.Name)
		if err != nil {
			return err
		}
		if len(m) != len(p.W) || len(v) != len(p.W) {
			return fmt.Errorf("%s: optimiser state for %s has %d elements, the parameter %d", path, p.Name, len(m), len(p.W))
		}
		o.m[p], o.v[p] = m, v
	}
	o.step = step
	return nil
}
