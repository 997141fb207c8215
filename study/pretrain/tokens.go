package pretrain

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/warm-rm/warm/internal/atomicfile"
)

// A token file caches a tokenized corpus so that a resumed or repeated run
// does not tokenize again. Layout (little endian):
//
//	magic   [8]byte "WARMTOK1"
//	width   uint32  bytes per token: 2 (vocab ≤ 65536) or 4
//	vocab   uint32  vocabulary size the ids were made with
//	count   uint64  number of tokens
//	ids     count × width bytes
//
// The vocabulary size is stored so that a cache made by another tokenizer is
// refused rather than silently fed to the model.
const tokenMagic = "WARMTOK1"

// WriteTokens writes ids to path atomically (atomicfile), as uint16 when
// vocab fits, else uint32.
func WriteTokens(path string, ids []int32, vocab int) error {
	width := 2
	if vocab > 1<<16 {
		width = 4
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		var hdr [24]byte
		copy(hdr[:8], tokenMagic)
		binary.LittleEndian.PutUint32(hdr[8:], uint32(width))
		binary.LittleEndian.PutUint32(hdr[12:], uint32(vocab))
		binary.LittleEndian.PutUint64(hdr[16:], uint64(len(ids)))
		if _, err := w.Write(hdr[:]); err != nil {
			return err
		}
		var buf [4]byte
		for _, id := range ids {
			if id < 0 || int(id) >= vocab {
				return fmt.Errorf("token id %d outside vocabulary of %d", id, vocab)
			}
			if width == 2 {
				binary.LittleEndian.PutUint16(buf[:], uint16(id))
			} else {
				binary.LittleEndian.PutUint32(buf[:], uint32(id))
			}
			if _, err := w.Write(buf[:width]); err != nil {
				return err
			}
		}
		return nil
	})
}

// ReadTokens reads a token file written by WriteTokens and checks that it
// was made with a vocabulary of the given size (vocab ≤ 0 skips the check).
func ReadTokens(path string, vocab int) ([]int32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var hdr [24]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("%s: truncated header: %w", path, err)
	}
	if string(hdr[:8]) != tokenMagic {
		return nil, fmt.Errorf("%s: not a warm token file (bad magic)", path)
	}
	width := int(binary.LittleEndian.Uint32(hdr[8:]))
	fileVocab := int(binary.LittleEndian.Uint32(hdr[12:]))
	n := binary.LittleEndian.Uint64(hdr[16:])
	if width != 2 && width != 4 {
		return nil, fmt.Errorf("%s: token width %d, want 2 or 4", path, width)
	}
	if vocab > 0 && fileVocab != vocab {
		return nil, fmt.Errorf("%s: made with a vocabulary of %d, tokenizer has %d", path, fileVocab, vocab)
	}
	if st, err := f.Stat(); err == nil && uint64(st.Size()) != 24+n*uint64(width) {
		return nil, fmt.Errorf("%s: size %d bytes, header says %d tokens of %d bytes", path, st.Size(), n, width)
	}
	ids := make([]int32, n)
	buf := make([]byte, 1<<16*width)
	for i := 0; i < len(ids); {
		k := min(len(ids)-i, 1<<16)
		if _, err := io.ReadFull(r, buf[:k*width]); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		for j := 0; j < k; j++ {
			var id uint32
			if width == 2 {
				id = uint32(binary.LittleEndian.Uint16(buf[j*2:]))
			} else {
				id = binary.LittleEndian.Uint32(buf[j*4:])
			}
			if int(id) >= fileVocab {
				return nil, fmt.Errorf("%s: token %d has id %d outside vocabulary of %d", path, i+j, id, fileVocab)
			}
			ids[i+j] = int32(id)
		}
		i += k
	}
	return ids, nil
}

// errNoTokens is returned when a split is too small to cut one window from.
var errNoTokens = errors.New("not enough tokens")
