package manifest

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrNoManifest is returned by FromELF when the file has no manifest note.
var ErrNoManifest = errors.New("no runnc manifest note (name \"RUNNC\", type 2) in any PT_NOTE segment")

// FromELF finds the manifest note in the PT_NOTE segments of f and parses
// it. A file with more than one manifest note is refused.
func FromELF(f *elf.File) (*Manifest, error) {
	var found *Manifest
	for i, p := range f.Progs {
		if p.Type != elf.PT_NOTE {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(p.Open(), 1<<20))
		if err != nil {
			return nil, fmt.Errorf("program header %d (PT_NOTE): %w", i, err)
		}
		descs, err := notes(data, NoteName, NoteType)
		if err != nil {
			return nil, fmt.Errorf("program header %d (PT_NOTE): %w", i, err)
		}
		for _, desc := range descs {
			if found != nil {
				return nil, errors.New("more than one runnc manifest note")
			}
			if found, err = UnmarshalNote(desc); err != nil {
				return nil, err
			}
		}
	}
	if found == nil {
		return nil, ErrNoManifest
	}
	return found, nil
}

// notes returns the descs of the notes called name with type typ in a
// PT_NOTE segment's contents (a sequence of 4-byte aligned ELF notes).
func notes(data []byte, name string, typ uint32) ([][]byte, error) {
	var out [][]byte
	for off := 0; off < len(data); {
		if len(data)-off < 12 {
			return nil, fmt.Errorf("truncated note header at offset %d", off)
		}
		namesz := uint64(binary.LittleEndian.Uint32(data[off:]))
		descsz := uint64(binary.LittleEndian.Uint32(data[off+4:]))
		ntype := binary.LittleEndian.Uint32(data[off+8:])
		nameOff := uint64(off) + 12
		descOff := nameOff + align4(namesz)
		end := descOff + align4(descsz)
		if end > uint64(len(data)) {
			return nil, fmt.Errorf("note at offset %d runs past its segment", off)
		}
		n := data[nameOff : nameOff+namesz]
		if ntype == typ && namesz == uint64(len(name))+1 && string(n[:len(name)]) == name && n[len(name)] == 0 {
			out = append(out, data[descOff:descOff+descsz])
		}
		off = int(end)
	}
	return out, nil
}

func align4(n uint64) uint64 { return (n + 3) &^ 3 }
