package manifest

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// build compiles CSource of m with the host C compiler and links it into
// a tiny static executable, as the guest build does.
func build(t *testing.T, m *Manifest) (obj, exe string) {
	t.Helper()
	cc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("gcc not installed: cannot check the generated C")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "manifest.c")
	if err := os.WriteFile(src, m.CSource(), 0o644); err != nil {
		t.Fatal(err)
	}
	start := filepath.Join(dir, "start.c")
	if err := os.WriteFile(start, []byte("void _start(void) { for (;;) ; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	obj = filepath.Join(dir, "manifest.o")
	exe = filepath.Join(dir, "guest")
	for _, args := range [][]string{
		{"-std=gnu11", "-Wall", "-Wextra", "-Werror", "-ffreestanding", "-c", "-o", obj, src},
		{"-nostdlib", "-static", "-no-pie", "-Wl,--build-id=none", "-o", exe, start, obj},
	} {
		if out, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
			t.Fatalf("gcc %v: %v\n%s\n%s", args, err, out, m.CSource())
		}
	}
	return obj, exe
}

// TestCSource checks the object the generated C compiles to: a section
// ".note.runnc.manifest" of type SHT_NOTE, 4-aligned, holding exactly one
// ELF note (namesz 6, "RUNNC", type 2) whose desc is MarshalNote.
func TestCSource(t *testing.T) {
	for _, m := range []*Manifest{
		{},
		{Devices: []Device{{"service0", NetBasic}, {"rootfs", BlockBasic}}},
	} {
		obj, exe := build(t, m)
		f, err := elf.Open(obj)
		if err != nil {
			t.Fatal(err)
		}
		s := f.Section(".note.runnc.manifest")
		if s == nil {
			t.Fatal("no section .note.runnc.manifest in the object")
		}
		if s.Type != elf.SHT_NOTE || s.Addralign != 4 || s.Flags&elf.SHF_ALLOC == 0 {
			t.Errorf("section: type %v align %d flags %v, want SHT_NOTE, 4, SHF_ALLOC", s.Type, s.Addralign, s.Flags)
		}
		data, err := s.Data()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		desc := m.MarshalNote()
		want := binary.LittleEndian.AppendUint32(nil, 6)
		want = binary.LittleEndian.AppendUint32(want, uint32(len(desc)))
		want = binary.LittleEndian.AppendUint32(want, 2)
		want = append(want, "RUNNC\x00\x00\x00"...)
		want = append(want, desc...)
		if !bytes.Equal(data, want) {
			t.Errorf("section contents:\n got %x\nwant %x", data, want)
		}

		// Linked, the note lands in a PT_NOTE segment where FromELF finds it.
		f, err = elf.Open(exe)
		if err != nil {
			t.Fatal(err)
		}
		got, err := FromELF(f)
		f.Close()
		if err != nil {
			t.Fatalf("FromELF: %v", err)
		}
		if !bytes.Equal(got.JSON(), m.JSON()) {
			t.Errorf("FromELF = %+v, want %+v", got, m)
		}
	}
}

func TestFromELFNoNote(t *testing.T) {
	exe, err := os.Executable() // a Go test binary: notes, but not ours
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := FromELF(f); !errors.Is(err, ErrNoManifest) {
		t.Fatalf("FromELF(test binary) = %v, want ErrNoManifest", err)
	}
}

func TestNotesRefusesTruncated(t *testing.T) {
	n := binary.LittleEndian.AppendUint32(nil, 6)
	n = binary.LittleEndian.AppendUint32(n, 100) // desc runs past the end
	n = binary.LittleEndian.AppendUint32(n, 2)
	n = append(n, "RUNNC\x00\x00\x00"...)
	if _, err := notes(n, NoteName, NoteType); err == nil {
		t.Error("accepted a note whose desc runs past its segment")
	}
	if _, err := notes(n[:10], NoteName, NoteType); err == nil {
		t.Error("accepted a truncated note header")
	}
}
