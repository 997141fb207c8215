package rmtrain

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/warm-rm/warm/internal/runlog"
)

// ReadSummary reads a training run's summary.json.
func ReadSummary(run string) (*Summary, error) {
	var s Summary
	if err := runlog.ReadJSON(filepath.Join(run, "summary.json"), &s); err != nil {
		return nil, err
	}
	return &s, nil
}

func isModelDir(d string) bool {
	_, err := os.Stat(filepath.Join(d, "config.json"))
	return err == nil
}

// MemberDirs lists a training run's members, best first by validation
// accuracy when its summary.json has them (the order warm eval and warm
// repro use; a stable sort keeps the plan's order among equals), else
// every member-* model directory by name. A --ladder run's extra models
// are not WARM members and are left out.
func MemberDirs(run string) ([]string, error) {
	if sum, err := ReadSummary(run); err == nil && len(sum.Members) > 0 {
		ms := append([]*MemberResult(nil), sum.Members...)
		sort.SliceStable(ms, func(i, j int) bool { return ms[i].ValAcc > ms[j].ValAcc })
		var dirs []string
		for _, m := range ms {
			if !strings.HasPrefix(m.Member.Name, "member-") {
				continue
			}
			d := filepath.Join(run, m.Member.Name)
			if !isModelDir(d) {
				return nil, fmt.Errorf("%s/summary.json lists %s, which is not a model directory", run, m.Member.Name)
			}
			dirs = append(dirs, d)
		}
		if len(dirs) > 0 {
			return dirs, nil
		}
	}
	found, err := filepath.Glob(filepath.Join(run, "member-*"))
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, f := range found {
		if isModelDir(f) {
			dirs = append(dirs, f)
		}
	}
	sort.Strings(dirs)
	if len(dirs) == 0 {
		return nil, fmt.Errorf("%s: no member-* model directories (run warm train first)", run)
	}
	return dirs, nil
}
