package tender

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runnc/runnc/solo5/manifest"
)

type testSeg struct {
	vaddr, memsz uint64
	data         []byte
	flags        uint32
}

// buildELF makes a minimal guest ELF: segments, an ABI note and a manifest
// note in a PT_NOTE, as the solo5 toolchain lays them out, and a PT_INTERP
// of each interp given.
func buildELF(entry uint64, segs []testSeg, abiVersion uint32, m *manifest.Manifest, interp ...string) []byte {
	le := binary.LittleEndian
	note := func(typ uint32, desc []byte) []byte {
		b := make([]byte, 12, 64)
		le.PutUint32(b[0:], 6)
		le.PutUint32(b[4:], uint32(len(desc)))
		le.PutUint32(b[8:], typ)
		b = append(b, "RUNNC\x00\x00\x00"...)
		b = append(b, desc...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		return b
	}
	abi := make([]byte, 8)
	le.PutUint32(abi[0:], abiVersion)
	le.PutUint32(abi[4:], 1)
	notes := note(1, abi)
	if m != nil {
		notes = append(notes, note(2, m.MarshalNote())...)
	}
	nph := len(segs) + 1 + len(interp)
	hdr := make([]byte, ehdrSize+nph*phdrSize)
	copy(hdr, "\x7fELF\x02\x01\x01")
	le.PutUint16(hdr[16:], etExec)
	le.PutUint16(hdr[18:], emX86_64)
	le.PutUint32(hdr[20:], 1)
	le.PutUint64(hdr[24:], entry)
	le.PutUint64(hdr[32:], ehdrSize)
	le.PutUint16(hdr[52:], ehdrSize)
	le.PutUint16(hdr[54:], phdrSize)
	le.PutUint16(hdr[56:], uint16(nph))
	body := append([]byte(nil), hdr...)
	ph := func(i int, typ, flags uint32, off, vaddr, filesz, memsz, align uint64) {
		p := body[ehdrSize+i*phdrSize:]
		le.PutUint32(p[0:], typ)
		le.PutUint32(p[4:], flags)
		le.PutUint64(p[8:], off)
		le.PutUint64(p[16:], vaddr)
		le.PutUint64(p[24:], vaddr)
		le.PutUint64(p[32:], filesz)
		le.PutUint64(p[40:], memsz)
		le.PutUint64(p[48:], align)
	}
	for i, s := range segs {
		for len(body)%pageSize != 0 {
			body = append(body, 0)
		}
		ph(i, ptLoad, s.flags, uint64(len(body)), s.vaddr, uint64(len(s.data)), s.memsz, pageSize)
		body = append(body, s.data...)
	}
	ph(len(segs), ptNote, pfR, uint64(len(body)), 0, uint64(len(notes)), uint64(len(notes)), 4)
	body = append(body, notes...)
	for i, path := range interp {
		ph(len(segs)+1+i, ptInterp, pfR, uint64(len(body)), 0, uint64(len(path)), uint64(len(path)), 1)
		body = append(body, path...)
	}
	return body
}

func validSegs() []testSeg {
	return []testSeg{
		{0x100000, 0x1000, []byte{0xf4, 0xeb, 0xfd}, pfR | pfX},
		{0x101000, 0x800, []byte("rodata"), pfR},
		{0x102000, 0x3000, []byte("data"), pfR | pfW},
	}
}

func testManifest() *manifest.Manifest {
	return &manifest.Manifest{Devices: []manifest.Device{{Name: "service0", Type: manifest.NetBasic}, {Name: "rootfs", Type: manifest.BlockBasic}}}
}

const testMem = 64 << 20

func TestCheckELFAcceptsValid(t *testing.T) {
	img, err := CheckELF(buildELF(0x100000, validSegs(), guestABIVersion, testManifest()), testMem)
	if err != nil {
		t.Fatal(err)
	}
	if len(img.segments) != 3 || img.end != 0x105000 || len(img.Manifest.Devices) != 2 {
		t.Fatalf("unexpected image: %+v", img)
	}
	l, err := layOut(img, testMem, nil, "a b", 0)
	if err != nil {
		t.Fatal(err)
	}
	got := map[uint64]string{}
	for _, c := range l.Chunks {
		got[c.Addr] = string(c.Data)
	}
	if got[0x101000] != "rodata" || got[bootInfoAddr][cmdlineAddr-bootInfoAddr:][:4] != "a b\x00" {
		t.Fatalf("layout did not place segment data and cmdline: %v", got)
	}
	// With the PT_INTERP the toolchain gives every guest (so that the host
	// kernel refuses to exec it directly).
	if _, err := CheckELF(buildELF(0x100000, validSegs(), guestABIVersion, testManifest(), guestInterp+"\x00"), testMem); err != nil {
		t.Fatalf("guest with PT_INTERP %q refused: %v", guestInterp, err)
	}
}

func TestCheckELFRefuses(t *testing.T) {
	valid := buildELF(0x100000, validSegs(), guestABIVersion, testManifest())
	with := func(f func(s []testSeg) []testSeg) []byte {
		return buildELF(0x100000, f(validSegs()), guestABIVersion, testManifest())
	}
	le := binary.LittleEndian
	patch := func(off int, v uint16) []byte {
		b := append([]byte(nil), valid...)
		le.PutUint16(b[off:], v)
		return b
	}
	cases := []struct {
		name string
		elf  []byte
		want string
	}{
		{"empty", nil, "not an ELF"},
		{"text", []byte("#!/bin/sh\necho hi\n" + strings.Repeat(" ", 64)), "not an ELF"},
		{"truncated", valid[:100], "outside the file"},
		{"machine", patch(18, 3), "not x86_64"},
		{"pie", patch(16, etDyn), "ET_DYN"},
		{"wx", with(func(s []testSeg) []testSeg { s[2].flags |= pfX; return s }), "both writable and executable"},
		{"below base", with(func(s []testSeg) []testSeg { s[0].vaddr = 0x1000; return s }), "below the guest base"},
		{"too big", with(func(s []testSeg) []testSeg { s[2].memsz = testMem; return s }), "does not fit in guest memory"},
		{"overlap", with(func(s []testSeg) []testSeg { s[1].vaddr = 0x100000; return s }), "overlap"},
		{"share page", with(func(s []testSeg) []testSeg { s[1].memsz = 0x1001; return s }), "overlap"},
		{"unaligned", with(func(s []testSeg) []testSeg { s[2].vaddr = 0x102010; return s }), "not page-aligned"},
		{"filesz", with(func(s []testSeg) []testSeg { s[1].memsz = 2; return s }), "exceeds memory size"},
		{"entry", buildELF(0x101000, validSegs(), guestABIVersion, testManifest()), "entry point"},
		{"abi", buildELF(0x100000, validSegs(), 99, testManifest()), "ABI version 99"},
		{"manifest", buildELF(0x100000, validSegs(), guestABIVersion, nil), "no manifest"},
		// Only the INTERP that cannot exist is a guest's; any other is a
		// dynamically linked host program.
		{"interp", buildELF(0x100000, validSegs(), guestABIVersion, testManifest(), "/lib64/ld-linux-x86-64.so.2\x00"), "dynamically linked"},
		{"interp unterminated", buildELF(0x100000, validSegs(), guestABIVersion, testManifest(), guestInterp), "dynamically linked"},
		{"interp longer", buildELF(0x100000, validSegs(), guestABIVersion, testManifest(), guestInterp+"x\x00"), "dynamically linked"},
		{"interp twice", buildELF(0x100000, validSegs(), guestABIVersion, testManifest(), guestInterp+"\x00", guestInterp+"\x00"), "two PT_INTERP"},
	}
	for _, c := range cases {
		_, err := CheckELF(c.elf, testMem)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error is not one line: %q", c.name, err)
		}
	}
}

// FuzzCheckELF feeds arbitrary bytes to the ELF and manifest checks: they
// must never panic, and whatever they accept must be safe to lay out.
func FuzzCheckELF(f *testing.F) {
	f.Add(buildELF(0x100000, validSegs(), guestABIVersion, testManifest()))
	f.Add(buildELF(0x100000, validSegs()[:1], guestABIVersion, &manifest.Manifest{}))
	f.Add(buildELF(0x100000, validSegs(), 2, testManifest()))
	f.Add(buildELF(0x100000, validSegs(), guestABIVersion, testManifest(), guestInterp+"\x00"))
	f.Add(buildELF(0x100000, validSegs(), guestABIVersion, testManifest(), "/lib/ld.so\x00"))
	f.Add([]byte("\x7fELF\x02\x01\x01"))
	guests, _ := filepath.Glob("../build/unikernels/*/*.spt")
	more, _ := filepath.Glob("../build/unikernels/tests/*.spt")
	for _, g := range append(guests, more...) {
		if b, err := os.ReadFile(g); err == nil && len(b) < 1<<20 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := CheckELF(data, testMem)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		if err := img.Manifest.Validate(); err != nil {
			t.Fatalf("accepted an invalid manifest: %v", err)
		}
		for i, s := range img.segments {
			if s.Flags&pfW != 0 && s.Flags&pfX != 0 {
				t.Fatalf("accepted W+X segment %d", i)
			}
			if s.Vaddr < guestBase || s.Vaddr+s.Memsz > testMem || s.Vaddr+s.Memsz < s.Vaddr {
				t.Fatalf("accepted segment %d outside guest memory: %+v", i, s)
			}
		}
		if _, err := layOut(img, testMem, nil, "", 0); err != nil && !strings.Contains(err.Error(), "--mem") {
			t.Fatalf("layout of an accepted guest failed: %v", err)
		}
	})
}

// The features note is read (older tenders skip it), and --net-offload is
// refused for a guest whose bindings do not announce vnet_hdr support.
func TestFeaturesNote(t *testing.T) {
	data := buildELF(0x100000, validSegs(), guestABIVersion, testManifest())
	img, err := CheckELF(data, testMem)
	if err != nil {
		t.Fatal(err)
	}
	if img.Features != 0 {
		t.Errorf("no features note: Features %#x, want 0", img.Features)
	}
	cfg, _, err := ParseArgs([]string{"--net:service0=tap0", "--net-offload:service0", "g.spt"})
	if err != nil {
		t.Fatal(err)
	}
	if err := checkFeatures(cfg, img); err == nil || !strings.Contains(err.Error(), "--net-offload:service0") {
		t.Errorf("offload for a guest without the feature: %v, want a refusal naming the option", err)
	}
	img.Features = featureVnetHDR
	if err := checkFeatures(cfg, img); err != nil {
		t.Errorf("offload for a guest with the feature: %v", err)
	}

	// A note of the wrong size is refused, a right one read.
	note := func(desc []byte) []byte {
		b := binary.LittleEndian.AppendUint32(nil, 6)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(desc)))
		b = binary.LittleEndian.AppendUint32(b, noteFeatures)
		b = append(b, "RUNNC\x00\x00\x00"...)
		return append(b, desc...)
	}
	if _, _, f, err := parseNotes(note([]byte{1, 0, 0, 0})); err != nil || f != featureVnetHDR {
		t.Errorf("features note: %#x, %v; want %#x", f, err, featureVnetHDR)
	}
	if _, _, _, err := parseNotes(note([]byte{1, 0, 0, 0, 0, 0, 0, 0})); err == nil {
		t.Error("an 8-byte features note was accepted")
	}

	for _, args := range [][]string{
		{"--net-offload:service0=yes", "g.spt"},
		{"--net-offload:service0", "--net-offload:service0", "g.spt"},
	} {
		if _, _, err := ParseArgs(args); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
