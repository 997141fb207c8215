//go:build chaos

package chaos

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/warm-rm/warm/kit/safetensors"
)

// mountTmpfs mounts a tmpfs of size bytes on dir, or skips the test where
// that is not allowed (not root, no CAP_SYS_ADMIN, a container without it).
func mountTmpfs(t *testing.T, dir string, size int64) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v): disk-full checks skipped", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
}

func treeSize(root string, skip func(rel string) bool) int64 {
	var n int64
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(root, p)
		if err == nil && !d.IsDir() && !skip(rel) {
			if st, err := d.Info(); err == nil {
				n += (st.Size() + 4095) &^ 4095 // tmpfs counts whole pages
			}
		}
		return nil
	})
	return n
}

func copyTree(t *testing.T, src, dst string, skip func(rel string) bool) {
	t.Helper()
	filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if skip(rel) {
			return nil
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, rel), b, 0o644); err != nil {
			t.Fatalf("copying %s: %v", rel, err)
		}
		return nil
	})
}

// snapshot reads every file under root.
func snapshot(root string) map[string][]byte {
	out := map[string][]byte{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out[rel], _ = os.ReadFile(p)
		}
		return nil
	})
	return out
}

// checkFull asserts a run on a full disk failed with a clear error, left
// no temporary files, and left every safetensors file complete.
func checkFull(t *testing.T, what string, out []byte, err error, root string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s on a full disk succeeded:\n%s", what, tail(out, 1000))
	}
	if !bytes.Contains(out, []byte("no space left on device")) {
		t.Errorf("%s: the error does not say the disk is full:\n%s", what, tail(out, 1000))
	}
	if s := staleFiles(root); len(s) > 0 {
		t.Errorf("%s: temporary files left on the full disk: %v", what, s)
	}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".safetensors") {
			f, err := safetensors.Open(p)
			if err != nil {
				t.Errorf("%s: partial output: %v", what, err)
				return nil
			}
			f.Close()
		}
		return nil
	})
}

// TestDiskFull: merge, train and the report each hit a full tmpfs: a clear
// error, no partial output, no temporary files, old outputs intact.
func TestDiskFull(t *testing.T) {
	b := base(t)
	rm := filepath.Join(b, "corrupt", "rm") // tiny runs one label setting, corrupt, under OUT/corrupt/
	members := []string{filepath.Join(rm, "member-00"), filepath.Join(rm, "member-01"), filepath.Join(rm, "member-02")}
	var figures []string

	t.Run("merge", func(t *testing.T) {
		disk := filepath.Join(workRoot, "full-merge")
		old := filepath.Join(workRoot, "old-merge")
		if out, err := exec.Command(warmBin, append([]string{"merge", "--quiet", "-o", old}, members[:2]...)...).CombinedOutput(); err != nil {
			t.Fatalf("merge: %v\n%s", err, out)
		}
		// Room for the old output and a little more, not for a second copy.
		mountTmpfs(t, disk, treeSize(old, func(string) bool { return false })+64<<10)
		out := filepath.Join(disk, "warm")
		copyTree(t, old, out, func(string) bool { return false })
		before := snapshot(disk)
		got, err := exec.Command(warmBin, append([]string{"merge", "--quiet", "--force", "-o", out}, members...)...).CombinedOutput()
		checkFull(t, "merge --force", got, err, disk)
		after := snapshot(disk)
		if len(after) != len(before) {
			t.Errorf("merge on a full disk changed the file set: %d files before, %d after", len(before), len(after))
		}
		for k, v := range before {
			if !bytes.Equal(after[k], v) {
				t.Errorf("merge on a full disk changed the old output's %s", k)
			}
		}
		figures = append(figures, fmt.Sprintf("merge: %q", firstLine(got)))
	})

	t.Run("train", func(t *testing.T) {
		disk := filepath.Join(workRoot, "full-train")
		mountTmpfs(t, disk, 600<<10) // one member and its checkpoints, not three
		out := filepath.Join(disk, "rm")
		got, err := exec.Command(warmBin, "train", "--preset", "tiny", "--pretrain", filepath.Join(b, "pretrain"), "--data", filepath.Join(b, "data"),
			"--ckpt-every", "4", "--out", out).CombinedOutput()
		checkFull(t, "train", got, err, disk)
		var left []string
		filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
			if rel, _ := filepath.Rel(out, p); err == nil && d.IsDir() && strings.Count(rel, string(filepath.Separator)) == 0 && rel != "." {
				left = append(left, rel)
			}
			return nil
		})
		figures = append(figures, fmt.Sprintf("train: %q (directories left: %v)", firstLine(got), left))
	})

	t.Run("report", func(t *testing.T) {
		// A finished study copied onto a tmpfs at the path it was made at
		// (stage caches key on paths), with room for everything but a
		// second report.html: the rerun only writes the report.
		run := filepath.Join(workRoot, "full-report", "run")
		src := run + ".src"
		if out, err := exec.Command(warmBin, "repro", "--preset", "tiny", "--sample", "--out", run).CombinedOutput(); err != nil {
			t.Fatalf("repro: %v\n%s", err, tail(out, 1000))
		}
		if err := os.Rename(run, src); err != nil {
			t.Fatal(err)
		}
		none := func(string) bool { return false }
		mountTmpfs(t, run, treeSize(src, none)+64<<10)
		copyTree(t, src, run, none)
		before := snapshot(run)
		got, err := exec.Command(warmBin, "repro", "--preset", "tiny", "--sample", "--out", run).CombinedOutput()
		checkFull(t, "repro (report)", got, err, run)
		after := snapshot(run)
		for _, k := range []string{"report.html", "report.md"} {
			if !bytes.Equal(before[k], after[k]) && len(after[k]) < len(before[k]) {
				t.Errorf("%s was truncated on a full disk (%d bytes, was %d)", k, len(after[k]), len(before[k]))
			}
		}
		figures = append(figures, fmt.Sprintf("report: %q", firstLine(got)))
	})
	t.Logf("FIGURES disk full: %s", strings.Join(figures, "; "))
}

// firstLine is the last line mentioning the failure, for the figures.
func firstLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], "no space") {
			return lines[i]
		}
	}
	return lines[len(lines)-1]
}
