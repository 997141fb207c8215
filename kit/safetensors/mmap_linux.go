//go:build linux

package safetensors

import (
	"os"
	"syscall"
)

// mapFile maps the whole file read-only. The mapping outlives f.
func mapFile(f *os.File, size int64) ([]byte, error) {
	if size == 0 {
		return nil, nil
	}
	return syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
}

func unmapFile(b []byte) error {
	if b == nil {
		return nil
	}
	return syscall.Munmap(b)
}

// adviseSequential tells the kernel b will be read front to back once, so
// it reads ahead aggressively.
func adviseSequential(b []byte) {
	if len(b) > 0 {
		syscall.Madvise(b, syscall.MADV_SEQUENTIAL)
	}
}

// adviseDontNeed drops b's pages from this process's mapping (the page cache
// keeps them); it keeps RSS flat during a long streamed merge.
func adviseDontNeed(b []byte) {
	if len(b) > 0 {
		syscall.Madvise(b, syscall.MADV_DONTNEED)
	}
}
