package pretrain

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/warm-rm/warm/internal/atomicfile"
	"github.com/warm-rm/warm/internal/runlog"
	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/optim"
	"github.com/warm-rm/warm/kit/safetensors"
)

// state is the part of a run that is not tensors. The random state is the
// step number: windows and dropout masks are drawn from (Seed, step).
type state struct {
	Step      int     `json:"step"`       // steps done
	Steps     int     `json:"steps"`      // run length
	Batch     int     `json:"batch"`      // windows per step
	Seed      uint64  `json:"seed"`       // run seed
	LR        float64 `json:"lr"`         // peak learning rate
	Warmup    int     `json:"warmup"`     // warm-up steps
	Tokens    int64   `json:"tokens"`     // training tokens seen
	Seconds   float64 `json:"seconds"`    // training wall time so far
	TrainLoss float64 `json:"train_loss"` // last logged
	// The running sum of losses since the last logged step: a resumed run
	// carries it on, so its next logged loss averages the same steps as an
	// uninterrupted run's.
	LossSum float64 `json:"loss_sum,omitempty"`
	LossN   int     `json:"loss_n,omitempty"`
}

// The resume checkpoint is the directory out/resume: the model as an HF
// directory (config.json, model.safetensors), the AdamW moments
// (optimizer.safetensors, optim.AdamW.SaveState) and state.json. It is
// staged and swapped in by atomicfile (the old one is removed once the new
// one is in place). Runs written by older versions may have left
// out/resume.old, which loading still accepts.
const (
	optimFile = "optimizer.safetensors"
	stateFile = "state.json"
)

func saveResume(out string, m *model.Model, o *optim.AdamW, st state) error {
	dir := filepath.Join(out, "resume")
	d, err := atomicfile.NewDir(dir)
	if err != nil {
		return err
	}
	defer d.Abort()
	tmp := d.Path
	if err := m.Save(tmp, safetensors.F32); err != nil {
		return err
	}
	if err := o.SaveState(filepath.Join(tmp, optimFile)); err != nil {
		return err
	}
	if err := atomicfile.WriteJSON(filepath.Join(tmp, stateFile), st); err != nil {
		return err
	}
	return d.Commit(true)
}

// findResume returns the directory of the resume checkpoint in out, or "".
func findResume(out string) string {
	for _, d := range []string{"resume", "resume.old"} {
		p := filepath.Join(out, d)
		if _, err := os.Stat(filepath.Join(p, stateFile)); err == nil {
			return p
		}
	}
	return ""
}

// loadResume reads the model and run state of the checkpoint in dir; the
// caller builds the optimiser on the model and calls loadOptim.
func loadResume(dir string) (*model.Model, state, error) {
	var st state
	if err := runlog.ReadJSON(filepath.Join(dir, stateFile), &st); err != nil {
		return nil, st, fmt.Errorf("resume checkpoint: %w (use --restart to start over)", err)
	}
	m, err := model.Load(dir)
	if err != nil {
		return nil, st, fmt.Errorf("resume checkpoint: %w (use --restart to start over)", err)
	}
	return m, st, nil
}
