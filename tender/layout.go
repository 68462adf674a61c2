package tender

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/runnc/runnc/solo5/manifest"
)

// layout is guest memory ready to map: its initial contents, the
// protections, and the registers at entry.
type layout struct {
	MemSize   uint64
	Chunks    []chunk // initial contents; all other guest memory is zero
	Regions   []region
	Entry     uint64
	StackTop  uint64
	BootInfo  uint64
	HeapStart uint64
}

// chunk is initial guest memory contents at Addr.
type chunk struct {
	Addr uint64
	Data []byte
}

// region is a protection applied to part of guest memory (PROT_* bits).
type region struct {
	Addr, Len uint64
	Prot      uint32
}

const (
	protNone  = 0
	protRead  = 1
	protWrite = 2
	protExec  = 4

	bootFlagFSGSBase     = 1
	bootFlagTLSArchPrctl = 2
	bootFlagRNGSeed      = 4
	devFlagReadOnly      = 1
	devFlagVnetHDR       = 2
	devFlagBlockIO       = 4
	devFlagVnetRX        = 8

	devRecordSize = 128
	bootHdrSize   = 64
	maxDevices    = 63
	nameMax       = 68
	// The address of the guest's RNG seed follows the device records
	// (runnc/abi.h); the seed itself is at the top of guest memory.
	rngSeedOffset = bootHdrSize + maxDevices*devRecordSize
	rngSeedSize   = 32
)

// Lay out guest memory: boot info and cmdline in the read-only boot page,
// the segments with their own protections, nothing mapped between them,
// and the heap (with the stack at its top) after the last segment.
func layOut(img *Image, memSize uint64, devs []*device, cmdline string, flags uint32) (*layout, error) {
	if len(cmdline) >= cmdlineMax {
		return nil, fmt.Errorf("command line is %d bytes, at most %d allowed", len(cmdline), cmdlineMax-1)
	}
	if len(devs) > maxDevices {
		return nil, fmt.Errorf("%d devices, at most %d allowed", len(devs), maxDevices)
	}
	const minHeap = 256 << 10
	if img.end+minHeap > memSize {
		return nil, fmt.Errorf("guest needs %d KiB plus heap; --mem is %d MiB", img.end>>10, memSize>>20)
	}
	// The RNG seed goes above the initial stack, in memory the guest may
	// write, so that the bindings can wipe it once they have taken it.
	seedAddr := (memSize - rngSeedSize) &^ 15
	l := &layout{
		MemSize:   memSize,
		Entry:     img.entry,
		StackTop:  seedAddr,
		BootInfo:  bootInfoAddr,
		HeapStart: img.end,
	}
	le := binary.LittleEndian
	boot := make([]byte, bootEnd-bootInfoAddr)
	bi := boot
	le.PutUint64(bi[0:], 0x6f6f62636e6e7572) // "runncboo"
	le.PutUint32(bi[8:], guestABIVersion)
	le.PutUint32(bi[12:], flags|bootFlagRNGSeed)
	le.PutUint64(bi[16:], cmdlineAddr)
	le.PutUint64(bi[24:], memSize)
	le.PutUint64(bi[32:], l.HeapStart)
	le.PutUint64(bi[40:], l.StackTop-l.HeapStart)
	le.PutUint32(bi[48:], uint32(len(devs)))
	// The guest has no getrandom: its stack protector guard and the seed of
	// its random number generator (TCP sequence numbers, ports, kv's
	// choices) come from here, drawn now, before the seccomp filter. Two
	// separate draws, so that no output of the generator can tell anything
	// about the guard.
	if _, err := rand.Read(bi[56:64]); err != nil {
		return nil, fmt.Errorf("entropy for the guest's stack guard: %w", err)
	}
	seed := make([]byte, rngSeedSize)
	if _, err := rand.Read(seed); err != nil {
		return nil, fmt.Errorf("entropy for the guest's random numbers: %w", err)
	}
	le.PutUint64(bi[rngSeedOffset:], seedAddr)
	for i, d := range devs {
		r := bi[bootHdrSize+i*devRecordSize:]
		copy(r[0:nameMax-1], d.Name)
		le.PutUint32(r[68:], uint32(d.Type))
		le.PutUint32(r[72:], uint32(d.FD))
		var df uint32
		if d.ReadOnly {
			df |= devFlagReadOnly
		}
		if d.VnetHDR {
			df |= devFlagVnetHDR
		}
		if d.VnetRX {
			df |= devFlagVnetRX
		}
		if d.Type == manifest.BlockBasic {
			df |= devFlagBlockIO
		}
		le.PutUint32(r[76:], df)
		copy(r[80:86], d.MAC[:])
		le.PutUint64(r[88:], d.MTU)
		le.PutUint64(r[96:], d.Capacity)
		le.PutUint64(r[104:], d.BlockSize)
	}
	copy(boot[cmdlineAddr-bootInfoAddr:], cmdline)
	l.Chunks = append(l.Chunks, chunk{bootInfoAddr, boot}, chunk{seedAddr, seed})
	for _, s := range img.segments {
		if s.Filesz > 0 {
			l.Chunks = append(l.Chunks, chunk{s.Vaddr, s.data})
		}
	}

	l.Regions = append(l.Regions,
		region{bootInfoAddr, bootEnd - bootInfoAddr, protRead},
		region{bootEnd, guestBase - bootEnd, protNone})
	segs := append([]segment(nil), img.segments...)
	sort.Slice(segs, func(i, j int) bool { return segs[i].Vaddr < segs[j].Vaddr })
	next := uint64(guestBase)
	for _, s := range segs {
		if s.Vaddr > next {
			l.Regions = append(l.Regions, region{next, s.Vaddr - next, protNone})
		}
		var prot uint32
		if s.Flags&pfR != 0 {
			prot |= protRead
		}
		if s.Flags&pfW != 0 {
			prot |= protWrite
		}
		if s.Flags&pfX != 0 {
			prot |= protExec
		}
		end := pageUp(s.Vaddr + s.Memsz)
		l.Regions = append(l.Regions, region{s.Vaddr, end - s.Vaddr, prot})
		next = end
	}
	return l, nil
}
