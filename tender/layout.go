package tender

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sort"
)

// Layout is guest memory ready to map: its initial contents, the
// protections, and the registers at entry.
type Layout struct {
	MemSize   uint64
	Chunks    []Chunk // initial contents; all other guest memory is zero
	Regions   []Region
	Entry     uint64
	StackTop  uint64
	BootInfo  uint64
	HeapStart uint64
}

// Chunk is initial guest memory contents at Addr.
type Chunk struct {
	Addr uint64
	Data []byte
}

// Region is a protection applied to part of guest memory (PROT_* bits).
type Region struct {
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
	devFlagReadOnly      = 1
	devFlagVnetHDR       = 2

	devRecordSize = 128
	bootHdrSize   = 64
	maxDevices    = 63
	nameMax       = 68
)

// Lay out guest memory: boot info and cmdline in the read-only boot page,
// the segments with their own protections, nothing mapped between them,
// and the heap (with the stack at its top) after the last segment.
func layOut(img *Image, memSize uint64, devs []*Device, cmdline string, flags uint32) (*Layout, error) {
	if len(cmdline) >= cmdlineMax {
		return nil, fmt.Errorf("command line is %d bytes, at most %d allowed", len(cmdline), cmdlineMax-1)
	}
	if len(devs) > maxDevices {
		return nil, fmt.Errorf("%d devices, at most %d allowed", len(devs), maxDevices)
	}
	const minHeap = 256 << 10
	if img.End+minHeap > memSize {
		return nil, fmt.Errorf("guest needs %d KiB plus heap; --mem is %d MiB", img.End>>10, memSize>>20)
	}
	l := &Layout{
		MemSize:   memSize,
		Entry:     img.Entry,
		StackTop:  memSize &^ 15,
		BootInfo:  bootInfoAddr,
		HeapStart: img.End,
	}
	le := binary.LittleEndian
	boot := make([]byte, bootEnd-bootInfoAddr)
	bi := boot
	le.PutUint64(bi[0:], 0x6f6f62636e6e7572) // "runncboo"
	le.PutUint32(bi[8:], ABIVersion)
	le.PutUint32(bi[12:], flags)
	le.PutUint64(bi[16:], cmdlineAddr)
	le.PutUint64(bi[24:], memSize)
	le.PutUint64(bi[32:], l.HeapStart)
	le.PutUint64(bi[40:], memSize-l.HeapStart)
	le.PutUint32(bi[48:], uint32(len(devs)))
	// The guest has no getrandom: its stack protector guard comes from here.
	if _, err := rand.Read(bi[56:64]); err != nil {
		return nil, fmt.Errorf("entropy for the guest: %w", err)
	}
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
		le.PutUint32(r[76:], df)
		copy(r[80:86], d.MAC[:])
		le.PutUint64(r[88:], d.MTU)
		le.PutUint64(r[96:], d.Capacity)
		le.PutUint64(r[104:], d.BlockSize)
	}
	copy(boot[cmdlineAddr-bootInfoAddr:], cmdline)
	l.Chunks = append(l.Chunks, Chunk{bootInfoAddr, boot})
	for _, s := range img.Segments {
		if s.Filesz > 0 {
			l.Chunks = append(l.Chunks, Chunk{s.Vaddr, s.data})
		}
	}

	l.Regions = append(l.Regions,
		Region{bootInfoAddr, bootEnd - bootInfoAddr, protRead},
		Region{bootEnd, GuestBase - bootEnd, protNone})
	segs := append([]Segment(nil), img.Segments...)
	sort.Slice(segs, func(i, j int) bool { return segs[i].Vaddr < segs[j].Vaddr })
	next := uint64(GuestBase)
	for _, s := range segs {
		if s.Vaddr > next {
			l.Regions = append(l.Regions, Region{next, s.Vaddr - next, protNone})
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
		l.Regions = append(l.Regions, Region{s.Vaddr, end - s.Vaddr, prot})
		next = end
	}
	return l, nil
}
