// The hardening suite of issue 14: the warm binary under SIGKILL, full
// disks, hot reloads of broken checkpoints and hostile HTTP clients, on
// loopback and temporary directories only. The full suite is slow (minutes)
// and behind the "chaos" build tag (test/chaos/run.sh); without the tag only
// a short reload loop runs, and nothing with -short. Every test logs a
// "FIGURES" line; docs/chaos.md records them.
package chaos

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	warmBin  string // built once by TestMain
	baseDir  string // a finished tiny study (pretrain, data, rm members), shared read-only
	workRoot string
)

// reloadRounds is the length of the reload race loop: short in the normal
// test run, 200 (the acceptance figure of issue 14) with the chaos tag.
var reloadRounds = 20

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("chaos: skipped in -short mode")
		os.Exit(0)
	}
	root, err := os.MkdirTemp("", "warm-chaos-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	workRoot = root
	// WARM_CHAOS_BIN runs the suite against another build (say, an older
	// release, to see the suite catch what it was written for).
	warmBin = os.Getenv("WARM_CHAOS_BIN")
	if warmBin == "" {
		warmBin = filepath.Join(root, "warm")
		build := exec.Command("go", "build", "-o", warmBin, "./cmd/warm")
		build.Dir = moduleRoot()
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building warm:", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	if os.Getenv("WARM_CHAOS_KEEP") == "" {
		os.RemoveAll(root)
	} else {
		fmt.Fprintln(os.Stderr, "kept", root)
	}
	os.Exit(code)
}

func moduleRoot() string {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			panic("no go.mod above the test directory")
		}
		dir = parent
	}
}

var baseOnce sync.Once
var baseErr error

// base returns a finished tiny study, built once (about 15 s).
func base(t *testing.T) string {
	t.Helper()
	baseOnce.Do(func() {
		baseDir = filepath.Join(workRoot, "base")
		out, err := exec.Command(warmBin, "repro", "--preset", "tiny", "--sample", "--out", baseDir).CombinedOutput()
		if err != nil {
			baseErr = fmt.Errorf("tiny study: %v\n%s", err, tail(out, 2000))
		}
	})
	if baseErr != nil {
		t.Fatal(baseErr)
	}
	return baseDir
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// envInt reads a count from the environment (to scale the suite up or down).
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// ---- kill and resume ----

// verb is one resumable command under test. args gets the work directory
// (the same path in the reference and the killed runs, so paths written
// into outputs match).
type verb struct {
	name string
	args func(work string) []string
}

// killResult is what killResume found for one verb.
type killResult struct {
	kills, trials, identical int
	problems                 []string
}

// killResume runs v once uninterrupted as the reference, then for each
// trial: starts v, SIGKILLs its process group at a random point of the
// reference duration (up to kills times), reruns it to completion and
// compares the work directory with the reference (timing fields aside), and
// looks for stale temporary files.
func killResume(t *testing.T, v verb, trials, kills int, r *rand.Rand) killResult {
	t.Helper()
	dir := filepath.Join(workRoot, "kill-"+v.name)
	work := filepath.Join(dir, "w")
	ref := filepath.Join(dir, "ref")
	os.RemoveAll(dir)
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if out, err := exec.Command(warmBin, v.args(work)...).CombinedOutput(); err != nil {
		t.Fatalf("%s reference run: %v\n%s", v.name, err, tail(out, 2000))
	}
	d := time.Since(start)
	if err := os.Rename(work, ref); err != nil {
		t.Fatal(err)
	}
	res := killResult{trials: trials}
	for trial := range trials {
		os.RemoveAll(work)
		os.MkdirAll(work, 0o755)
		finished := false
		var buf bytes.Buffer
		for k := 0; k < kills && !finished; k++ {
			buf.Reset()
			cmd := exec.Command(warmBin, v.args(work)...)
			cmd.Stdout, cmd.Stderr = &buf, &buf
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			at := time.Duration(r.Int64N(int64(d)))
			select {
			case err := <-done: // finished before the kill point: the run is complete
				if err != nil {
					res.problems = append(res.problems, fmt.Sprintf("trial %d: run after %d kills failed: %v: %s", trial, k, err, tail(buf.Bytes(), 600)))
				}
				finished = true
			case <-time.After(at):
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-done
				res.kills++
			}
		}
		if !finished {
			out, err := exec.Command(warmBin, v.args(work)...).CombinedOutput()
			if err != nil {
				res.problems = append(res.problems, fmt.Sprintf("trial %d: rerun after kills failed: %v: %s", trial, err, tail(out, 600)))
				continue
			}
		}
		diffs := compareTrees(ref, work)
		stale := staleFiles(work)
		if len(diffs) == 0 && len(stale) == 0 {
			res.identical++
		}
		for _, s := range diffs {
			res.problems = append(res.problems, fmt.Sprintf("trial %d: %s", trial, s))
		}
		for _, s := range stale {
			res.problems = append(res.problems, fmt.Sprintf("trial %d: stale temporary file %s", trial, s))
		}
	}
	return res
}

// timingKey reports JSON keys that no two runs share by design: wall-clock
// measurements and dates, the step a run resumed from, and bon's
// policy_stamp (size and mtime of the policy's files, a cache key).
func timingKey(k string) bool {
	switch k {
	case "when", "written", "elapsed", "started", "finished", "resumed_from_step", "policy_stamp":
		return true
	}
	return strings.Contains(k, "second")
}

// notCompared are files whose bytes carry wall-clock times or dates in
// prose (the report); they must exist but are not compared.
func notCompared(rel string) bool {
	return strings.HasSuffix(rel, "report.md") || strings.HasSuffix(rel, "report.html")
}

// normalize drops timing fields from JSON and JSONL files; other files are
// compared as they are.
func normalize(rel string, b []byte) []byte {
	strip := func(line []byte, indent string) []byte {
		var v any
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		if dec.Decode(&v) != nil {
			return line
		}
		v = dropTiming(v)
		if indent == "" { // one record per line (JSONL)
			out, _ := json.Marshal(v)
			return out
		}
		out, _ := json.MarshalIndent(v, "", indent)
		return out
	}
	switch {
	case strings.HasSuffix(rel, ".jsonl"):
		var out [][]byte
		for _, l := range bytes.Split(b, []byte("\n")) {
			out = append(out, strip(l, ""))
		}
		return bytes.Join(out, []byte("\n"))
	case strings.HasSuffix(rel, ".json"):
		return strip(b, " ")
	}
	return b
}

func dropTiming(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if timingKey(k) {
				delete(x, k)
			} else {
				x[k] = dropTiming(e)
			}
		}
	case []any:
		for i := range x {
			x[i] = dropTiming(x[i])
		}
	}
	return v
}

// firstDiff describes where two normalised files first differ: the line
// number and both lines, shortened.
func firstDiff(a, b []byte) string {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := 0; i < len(la) || i < len(lb); i++ {
		var x, y []byte
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if !bytes.Equal(x, y) {
			short := func(b []byte) string {
				if len(b) > 160 {
					return string(b[:160]) + "…"
				}
				return string(b)
			}
			return fmt.Sprintf(" (line %d: %s | resumed: %s)", i+1, short(x), short(y))
		}
	}
	return ""
}

func listFiles(root string) map[string]bool {
	files := map[string]bool{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			files[rel] = true
		}
		return nil
	})
	return files
}

// compareTrees lists every difference between the reference and the work
// directory: missing or extra files, and files whose normalised bytes differ.
func compareTrees(ref, work string) []string {
	a, b := listFiles(ref), listFiles(work)
	var out []string
	var names []string
	for n := range a {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !b[n] {
			out = append(out, "missing after resume: "+n)
			continue
		}
		if notCompared(n) {
			continue
		}
		x, _ := os.ReadFile(filepath.Join(ref, n))
		y, _ := os.ReadFile(filepath.Join(work, n))
		if nx, ny := normalize(n, x), normalize(n, y); !bytes.Equal(nx, ny) {
			out = append(out, "differs from the uninterrupted run: "+n+firstDiff(nx, ny))
		}
	}
	for n := range b {
		if !a[n] && !isStale(n) {
			out = append(out, "extra after resume: "+n)
		}
	}
	return out
}

// isStale matches the temporary names of internal/atomicfile
// (".NAME.tmp-PID-RAND"), the safetensors writer and merge (".NAME.tmpNNN").
func isStale(rel string) bool {
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		if strings.HasPrefix(part, ".") && strings.Contains(part, ".tmp") {
			return true
		}
	}
	return false
}

func staleFiles(root string) []string {
	var out []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		if isStale(rel) {
			out = append(out, rel)
			if d.IsDir() {
				return filepath.SkipDir
			}
		}
		return nil
	})
	return out
}

// splitEnv reads a comma-separated list from the environment.
func splitEnv(name string) []string {
	var out []string
	for _, s := range strings.Split(os.Getenv(name), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
