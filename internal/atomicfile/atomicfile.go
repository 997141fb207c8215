// Package atomicfile is the one way this module writes a file or replaces a
// directory: readers see the old content or the new, never a part, and a
// crash at any point leaves the old content in place.
//
// Files are staged next to their destination (same filesystem, so rename is
// atomic), fsynced, renamed, and the parent directory is fsynced so that the
// rename itself survives a power cut. Staged names carry the writer's pid:
// ".NAME.tmp-PID-RAND". A later writer of the same destination removes the
// stale stages left by writers that are no longer running (kill -9), so no
// hidden temp files pile up.
//
// Files are created with mode 0644 and directories 0755, both reduced by the
// process umask as any Unix tool's output is.
package atomicfile

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// FileMode and DirMode are the modes asked for before the umask applies.
const (
	FileMode os.FileMode = 0o644
	DirMode  os.FileMode = 0o755
)

// stageName returns a fresh hidden sibling name for path.
func stageName(path string) string {
	dir, base := filepath.Split(path)
	return filepath.Join(dir, fmt.Sprintf(".%s.tmp-%d-%08x", base, os.Getpid(), rand.Uint32()))
}

// stalePrefix is what every stage of path starts with.
func stalePrefix(path string) string { return "." + filepath.Base(path) + ".tmp-" }

// RemoveStale removes the stages of path (files or directories) left by
// writers that are no longer running. Stages of live processes, this one
// included, are kept. Errors are ignored: a stale stage is litter, not data.
func RemoveStale(path string) {
	dir := filepath.Dir(path)
	prefix := stalePrefix(path)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		rest := name[len(prefix):]
		pidStr, _, ok := strings.Cut(rest, "-")
		if !ok {
			continue
		}
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid <= 0 {
			continue
		}
		if pid == os.Getpid() || processAlive(pid) {
			continue
		}
		os.RemoveAll(filepath.Join(dir, name))
	}
}

// processAlive reports whether pid names a running process.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// SyncDir fsyncs a directory so that entries created or renamed in it are
// durable. Filesystems that cannot sync a directory are not an error.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return fmt.Errorf("%s: sync: %w", dir, err)
	}
	return nil
}

// fail names path (the destination) in an error, dropping the stage's
// name where the error carries it: "out.json: write: no space left on
// device", not the hidden temporary file's name.
func fail(path string, err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) && strings.Contains(filepath.Base(pe.Path), ".tmp-") {
		return fmt.Errorf("%s: %s: %w", path, pe.Op, pe.Err)
	}
	return fmt.Errorf("%s: %w", path, err)
}

// Write streams the content produced by write into path atomically. write
// gets a buffered writer; on any error (from write or from the filesystem)
// the stage is removed, path is untouched, and the error names path.
func Write(path string, write func(w io.Writer) error) (err error) {
	RemoveStale(path)
	name := stageName(path)
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, FileMode)
	if err != nil {
		return fail(path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(name)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err = write(bw); err != nil {
		return fail(path, err)
	}
	if err = bw.Flush(); err != nil {
		return fail(path, err)
	}
	if err = f.Sync(); err != nil {
		return fail(path, err)
	}
	if err = f.Close(); err != nil {
		return fail(path, err)
	}
	if err = os.Rename(name, path); err != nil {
		return fail(path, err)
	}
	return SyncDir(filepath.Dir(path))
}

// WriteFile writes data to path atomically.
func WriteFile(path string, data []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteJSON writes v as indented JSON (with a final newline) atomically.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return WriteFile(path, append(b, '\n'))
}

// Dir is a directory being staged to replace (or create) a destination
// directory. Fill Path, then Commit; Abort (safe after Commit) removes the
// stage. Typical use:
//
//	d, err := atomicfile.NewDir(out)
//	if err != nil { return err }
//	defer d.Abort()
//	... write files under d.Path ...
//	return d.Commit(force)
type Dir struct {
	Path string // the staging directory: write the new content here
	dst  string
	done bool
}

// NewDir creates a staging directory next to dst (removing stale stages of
// dst left by dead writers first).
func NewDir(dst string) (*Dir, error) {
	dst = filepath.Clean(dst)
	if err := os.MkdirAll(filepath.Dir(dst), DirMode); err != nil {
		return nil, err
	}
	RemoveStale(dst)
	name := stageName(dst)
	if err := os.Mkdir(name, DirMode); err != nil {
		return nil, fmt.Errorf("%s: %w", dst, err)
	}
	return &Dir{Path: name, dst: dst}, nil
}

// Commit moves the stage into place. If the destination exists it is
// replaced only when replace is true (otherwise Commit fails and the stage
// is removed); the old directory is moved aside under a hidden name of its
// own, never one a user could own, and removed once the new one is in place.
func (d *Dir) Commit(replace bool) error {
	if d.done {
		return fmt.Errorf("%s: already committed", d.dst)
	}
	d.done = true
	if err := syncTree(d.Path); err != nil {
		os.RemoveAll(d.Path)
		return err
	}
	if err := ReplaceDir(d.Path, d.dst, replace); err != nil {
		os.RemoveAll(d.Path)
		return err
	}
	return nil
}

// Abort removes the stage if it was not committed.
func (d *Dir) Abort() {
	if !d.done {
		d.done = true
		os.RemoveAll(d.Path)
	}
}

// ReplaceDir renames the directory src to dst. If dst exists and replace is
// false it fails with an error naming dst; with replace, the old dst is
// moved aside to a hidden stage name, src renamed into place, and the old
// one removed. If the second rename fails the old dst is put back.
func ReplaceDir(src, dst string, replace bool) error {
	_, err := os.Lstat(dst)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.Rename(src, dst); err != nil {
			return fmt.Errorf("%s: %w", dst, err)
		}
		return SyncDir(filepath.Dir(dst))
	case err != nil:
		return fmt.Errorf("%s: %w", dst, err)
	case !replace:
		return fmt.Errorf("%s: already exists (pass --force to replace it)", dst)
	}
	aside := stageName(dst)
	if err := os.Rename(dst, aside); err != nil {
		return fmt.Errorf("%s: moving the old directory aside: %w", dst, err)
	}
	if err := os.Rename(src, dst); err != nil {
		if rerr := os.Rename(aside, dst); rerr != nil {
			return fmt.Errorf("%s: %v; the old content is kept at %s", dst, err, aside)
		}
		return fmt.Errorf("%s: %w", dst, err)
	}
	if err := SyncDir(filepath.Dir(dst)); err != nil {
		return err
	}
	return os.RemoveAll(aside)
}

// syncTree fsyncs every regular file and directory under root, so a renamed
// stage is durable as a whole.
func syncTree(root string) error {
	return filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.Type().IsRegular() && !e.IsDir() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		serr := f.Sync()
		f.Close()
		if serr != nil && !errors.Is(serr, syscall.EINVAL) && !errors.Is(serr, syscall.ENOTSUP) {
			return fmt.Errorf("%s: sync: %w", p, serr)
		}
		return nil
	})
}

// File is a file being written to replace path, for writers that stream
// over many calls (a safetensors shard). Write to it, then Commit; Abort
// (safe after Commit) removes the stage.
type File struct {
	*os.File
	path string
	done bool
	// NoSync skips the fsyncs on Commit (benchmarks, scratch output).
	NoSync bool
}

// Create starts staging a replacement for path.
func Create(path string) (*File, error) {
	RemoveStale(path)
	name := stageName(path)
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, FileMode)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &File{File: f, path: path}, nil
}

// Commit syncs and closes the stage and renames it onto path.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("%s: already committed or aborted", f.path)
	}
	f.done = true
	name := f.File.Name()
	var err error
	if !f.NoSync {
		err = f.File.Sync()
	}
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(name, f.path)
	}
	if err != nil {
		os.Remove(name)
		return fail(f.path, err)
	}
	if f.NoSync {
		return nil
	}
	return SyncDir(filepath.Dir(f.path))
}

// Abort closes and removes the stage if it was not committed.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.File.Close()
	os.Remove(f.File.Name())
}
