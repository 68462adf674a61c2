package tender

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/runnc/runnc/solo5/manifest"
)

// Guest memory layout (solo5/include/runnc/abi.h).
const (
	pageSize     = 0x1000
	guestBase    = 0x100000 // lowest address a guest segment may use
	bootInfoAddr = 0x10000
	cmdlineAddr  = 0x12000
	cmdlineMax   = 8192
	bootEnd      = 0x14000

	guestABIVersion = 1
	abiTarget       = 1 // spt

	noteName     = "RUNNC"
	noteABI      = 1
	noteManifest = 2
	noteFeatures = 3 // desc: uint32 RUNNC_FEATURE_* bits

	// featureVnetHDR: the bindings handle RUNNC_DEVF_VNET_HDR taps.
	featureVnetHDR = 1
	// featureTLS: the guest sets a TLS base (besides a non-empty PT_TLS).
	featureTLS = 2
	// featureVnetRX: the guest reads large frames with partial checksums
	// (RUNNC_DEVF_VNET_RX).
	featureVnetRX   = 4
	maxLoadSegments = 8

	// guestInterp is the PT_INTERP every guest carries (RUNNC_INTERP in
	// runnc/abi.h): a path that cannot be a file, so that the host kernel
	// refuses to exec a guest directly. It is the only one accepted.
	guestInterp = "/nonexistent/runnc/"
)

// ELF constants used by the checks.
const (
	elfClass64   = 2
	elfData2LSB  = 1
	etExec       = 2
	etDyn        = 3
	emX86_64     = 62
	ptLoad       = 1
	ptDynamic    = 2
	ptInterp     = 3
	ptNote       = 4
	ptTLS        = 7
	pfX          = 1
	pfW          = 2
	pfR          = 4
	ehdrSize     = 64
	phdrSize     = 56
	maxPhdrCount = 64
)

// segment is one PT_LOAD of a guest.
type segment struct {
	Vaddr, Memsz uint64
	Off, Filesz  uint64
	Flags        uint32 // PF_R | PF_W | PF_X
	data         []byte // the Filesz bytes at Off
}

// Image is a guest ELF that passed every check: safe to lay out in memory
// of the size it was checked against.
type Image struct {
	entry    uint64
	segments []segment
	Manifest *manifest.Manifest
	Features uint32 // RUNNC_FEATURE_* from the features note (0 without one)
	tlsSize  uint64 // memory size of the PT_TLS segment (0: no TLS)
	end      uint64 // page-rounded end of the highest segment
}

// NetOffload says whether the guest's bindings handle a tap opened for
// offload (--net-offload: the vnet_hdr feature note).
func (img *Image) NetOffload() bool { return img.Features&featureVnetHDR != 0 }

// maxNoteSize bounds a PT_NOTE segment: the largest manifest (63 devices)
// is under 5 KiB.
const maxNoteSize = 64 << 10

// LoadKernel opens the guest at path and checks it against a guest memory
// of memSize bytes, reading only what the checks and the guest's memory
// need: it must be a regular file (not a device, FIFO or directory) no
// larger than guest memory, so /dev/zero or a huge file is refused before
// anything is read.
func LoadKernel(path string, memSize uint64) (*Image, error) {
	// O_NONBLOCK: opening a FIFO must not wait for a writer.
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (%s)", path, st.Mode().Type())
	}
	if uint64(st.Size()) > memSize {
		return nil, fmt.Errorf("%s: %d MiB, larger than guest memory (%d MiB) can hold; give more --mem, or strip the ELF", path, st.Size()>>20, memSize>>20)
	}
	img, err := checkELF(f, uint64(st.Size()), memSize)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

// CheckELF is LoadKernel's checks on a guest held in memory.
func CheckELF(data []byte, memSize uint64) (*Image, error) {
	return checkELF(bytes.NewReader(data), uint64(len(data)), memSize)
}

// readAt reads n bytes at off of a file of size bytes; the caller checked
// that they lie inside it.
func readAt(r io.ReaderAt, off, n uint64) ([]byte, error) {
	b := make([]byte, n)
	if _, err := r.ReadAt(b, int64(off)); err != nil {
		return nil, fmt.Errorf("read the ELF at %#x: %w", off, err)
	}
	return b, nil
}

// checkELF parses a guest of size bytes and checks it against a guest
// memory of memSize bytes. Every refusal is one line saying what is wrong.
func checkELF(r io.ReaderAt, size, memSize uint64) (*Image, error) {
	if size < ehdrSize {
		return nil, fmt.Errorf("not an ELF file")
	}
	hdr, err := readAt(r, 0, ehdrSize)
	if err != nil {
		return nil, err
	}
	if string(hdr[:4]) != "\x7fELF" {
		return nil, fmt.Errorf("not an ELF file")
	}
	data := hdr
	if data[4] != elfClass64 || data[5] != elfData2LSB {
		return nil, fmt.Errorf("not a 64-bit little-endian ELF (x86_64 guests only)")
	}
	le := binary.LittleEndian
	typ, machine := le.Uint16(data[16:]), le.Uint16(data[18:])
	if machine != emX86_64 {
		return nil, fmt.Errorf("ELF machine %d is not x86_64", machine)
	}
	switch typ {
	case etExec:
	case etDyn:
		return nil, fmt.Errorf("ELF is position-independent (ET_DYN); guests must be static ET_EXEC (link with -no-pie and the solo5_spt.lds script)")
	default:
		return nil, fmt.Errorf("ELF type %d is not an executable (ET_EXEC)", typ)
	}
	entry := le.Uint64(data[24:])
	phoff := le.Uint64(data[32:])
	phentsize, phnum := le.Uint16(data[54:]), le.Uint16(data[56:])
	if phnum == 0 {
		return nil, fmt.Errorf("ELF has no program headers")
	}
	if phentsize != phdrSize {
		return nil, fmt.Errorf("ELF program header size %d, want %d", phentsize, phdrSize)
	}
	if phnum > maxPhdrCount {
		return nil, fmt.Errorf("ELF has %d program headers, at most %d allowed", phnum, maxPhdrCount)
	}
	if phoff > size || uint64(phnum)*phdrSize > size-phoff {
		return nil, fmt.Errorf("ELF program headers lie outside the file (truncated?)")
	}
	phdrs, err := readAt(r, phoff, uint64(phnum)*phdrSize)
	if err != nil {
		return nil, err
	}

	img := &Image{entry: entry}
	var abi []byte
	var mft []byte
	sawInterp := false
	for i := 0; i < int(phnum); i++ {
		ph := phdrs[uint64(i)*phdrSize:]
		ptype, flags := le.Uint32(ph[0:]), le.Uint32(ph[4:])
		off, vaddr := le.Uint64(ph[8:]), le.Uint64(ph[16:])
		filesz, memsz, align := le.Uint64(ph[32:]), le.Uint64(ph[40:]), le.Uint64(ph[48:])
		switch ptype {
		case ptInterp:
			dynamic := fmt.Errorf("ELF is dynamically linked (it names an interpreter); guests must be static")
			if off > size || filesz != uint64(len(guestInterp))+1 || filesz > size-off {
				return nil, dynamic
			}
			interp, err := readAt(r, off, filesz)
			if err != nil {
				return nil, err
			}
			if string(interp) != guestInterp+"\x00" {
				return nil, dynamic
			}
			if sawInterp {
				return nil, fmt.Errorf("ELF has two PT_INTERP segments")
			}
			sawInterp = true
		case ptDynamic:
			return nil, fmt.Errorf("ELF is dynamically linked; guests must be static")
		case ptNote:
			if off > size || filesz > size-off {
				return nil, fmt.Errorf("ELF note segment %d lies outside the file", i)
			}
			if filesz > maxNoteSize {
				return nil, fmt.Errorf("ELF note segment %d is %d bytes, at most %d allowed", i, filesz, maxNoteSize)
			}
			notes, err := readAt(r, off, filesz)
			if err != nil {
				return nil, err
			}
			a, m, f, err := parseNotes(notes)
			if err != nil {
				return nil, fmt.Errorf("ELF note segment %d: %w", i, err)
			}
			if a != nil {
				abi = a
			}
			if m != nil {
				mft = m
			}
			img.Features |= f
		case ptTLS:
			img.tlsSize = memsz
		case ptLoad:
			if err := checkLoad(i, off, vaddr, filesz, memsz, align, flags, size, memSize); err != nil {
				return nil, err
			}
			if len(img.segments) == maxLoadSegments {
				return nil, fmt.Errorf("ELF has more than %d PT_LOAD segments", maxLoadSegments)
			}
			img.segments = append(img.segments, segment{Vaddr: vaddr, Memsz: memsz, Off: off, Filesz: filesz, Flags: flags})
		}
	}
	if len(img.segments) == 0 {
		return nil, fmt.Errorf("ELF has no PT_LOAD segment")
	}
	for i, a := range img.segments {
		for j, b := range img.segments[:i] {
			if pageDown(a.Vaddr) < pageUp(b.Vaddr+b.Memsz) && pageDown(b.Vaddr) < pageUp(a.Vaddr+a.Memsz) {
				return nil, fmt.Errorf("ELF PT_LOAD segments %d and %d overlap (or share a page)", j, i)
			}
		}
		if end := pageUp(a.Vaddr + a.Memsz); end > img.end {
			img.end = end
		}
	}
	inText := false
	for _, s := range img.segments {
		if s.Flags&pfX != 0 && entry >= s.Vaddr && entry < s.Vaddr+s.Memsz {
			inText = true
		}
	}
	if !inText {
		return nil, fmt.Errorf("ELF entry point %#x is not in an executable segment", entry)
	}
	if abi == nil {
		return nil, fmt.Errorf("not a runnc unikernel: no RUNNC ABI note (build it with runnc's Solo5 toolchain, see README)")
	}
	if v, t := le.Uint32(abi[0:]), le.Uint32(abi[4:]); v != guestABIVersion || t != abiTarget {
		return nil, fmt.Errorf("guest built for runnc ABI version %d target %d; this tender runs version %d target %d (spt): rebuild the guest", v, t, guestABIVersion, abiTarget)
	}
	if mft == nil {
		return nil, fmt.Errorf("guest has no manifest note (link a manifest made by runnc-manifest gen)")
	}
	m, err := manifest.UnmarshalNote(mft)
	if err != nil {
		return nil, fmt.Errorf("guest manifest: %w", err)
	}
	img.Manifest = m
	// Only now, with every segment inside the file and guest memory, the
	// contents guest memory starts with.
	for i := range img.segments {
		s := &img.segments[i]
		if s.data, err = readAt(r, s.Off, s.Filesz); err != nil {
			return nil, err
		}
	}
	return img, nil
}

func checkLoad(i int, off, vaddr, filesz, memsz, align uint64, flags uint32, fileSize, memSize uint64) error {
	switch {
	case flags&pfW != 0 && flags&pfX != 0:
		return fmt.Errorf("ELF PT_LOAD segment %d is both writable and executable (W^X): refused", i)
	case filesz > memsz:
		return fmt.Errorf("ELF PT_LOAD segment %d: file size %#x exceeds memory size %#x", i, filesz, memsz)
	case off > fileSize || filesz > fileSize-off:
		return fmt.Errorf("ELF PT_LOAD segment %d lies outside the file (truncated?)", i)
	case vaddr < guestBase:
		return fmt.Errorf("ELF PT_LOAD segment %d at %#x is below the guest base %#x", i, vaddr, guestBase)
	case memsz == 0:
		return fmt.Errorf("ELF PT_LOAD segment %d is empty", i)
	case vaddr > memSize || memsz > memSize-vaddr:
		return fmt.Errorf("ELF PT_LOAD segment %d [%#x, +%#x) does not fit in guest memory (%d MiB); give more --mem", i, vaddr, memsz, memSize>>20)
	case align < pageSize || align&(align-1) != 0:
		return fmt.Errorf("ELF PT_LOAD segment %d alignment %#x is not a power of two of at least a page", i, align)
	case vaddr%pageSize != 0:
		return fmt.Errorf("ELF PT_LOAD segment %d address %#x is not page-aligned", i, vaddr)
	}
	return nil
}

// parseNotes walks the notes of a PT_NOTE segment and returns the
// descriptors of the RUNNC ABI and manifest notes, if present, and the
// features the guest's bindings announce (a note older tenders ignore).
func parseNotes(b []byte) (abi, mft []byte, features uint32, err error) {
	le := binary.LittleEndian
	for len(b) > 0 {
		if len(b) < 12 {
			return nil, nil, 0, fmt.Errorf("truncated note header")
		}
		namesz, descsz, typ := uint64(le.Uint32(b[0:])), uint64(le.Uint32(b[4:])), le.Uint32(b[8:])
		nameEnd := 12 + align4(namesz)
		descEnd := nameEnd + align4(descsz)
		if nameEnd > uint64(len(b)) || descEnd > uint64(len(b)) {
			return nil, nil, 0, fmt.Errorf("note runs past the end of its segment")
		}
		name := b[12 : 12+namesz]
		desc := b[nameEnd : nameEnd+descsz]
		if string(name) == noteName+"\x00" {
			switch typ {
			case noteABI:
				if len(desc) != 8 {
					return nil, nil, 0, fmt.Errorf("ABI note is %d bytes, want 8", len(desc))
				}
				if abi != nil {
					return nil, nil, 0, fmt.Errorf("two ABI notes")
				}
				abi = desc
			case noteManifest:
				if mft != nil {
					return nil, nil, 0, fmt.Errorf("two manifest notes")
				}
				mft = desc
			case noteFeatures:
				if len(desc) != 4 {
					return nil, nil, 0, fmt.Errorf("features note is %d bytes, want 4", len(desc))
				}
				features |= le.Uint32(desc)
			}
		}
		b = b[descEnd:]
	}
	return abi, mft, features, nil
}

func align4(n uint64) uint64   { return (n + 3) &^ 3 }
func pageUp(n uint64) uint64   { return (n + pageSize - 1) &^ (pageSize - 1) }
func pageDown(n uint64) uint64 { return n &^ (pageSize - 1) }
