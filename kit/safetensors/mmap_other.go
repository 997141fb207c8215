//go:build !linux

package safetensors

import (
	"io"
	"os"
)

// mapFile reads the whole file: the portable fallback where mmap is not wired up.
func mapFile(f *os.File, size int64) ([]byte, error) {
	b := make([]byte, size)
	_, err := io.ReadFull(io.NewSectionReader(f, 0, size), b) // from the start, whatever f's offset
	return b, err
}

func unmapFile(b []byte) error  { return nil }
func adviseSequential(b []byte) {}
func adviseDontNeed(b []byte)   {}
