package tender

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/runnc/runnc/solo5/manifest"
)

// cLayout is a C program printing, as "key value" lines, every constant,
// size and field offset of tender/stub/plan.h and runnc/abi.h that the Go
// encoders in run.go and layout.go hard-code.
const cLayout = `
#include <stddef.h>
#include <stdio.h>
#include "plan.h"
#include "runnc/abi.h"

#define V(k, v) printf("%s %llu\n", k, (unsigned long long)(v))
#define F(s, f) do { \
	V(#s "." #f, offsetof(struct s, f)); \
	V(#s "." #f ".size", sizeof(((struct s *)0)->f)); \
} while (0)

int main(void)
{
	V("PLAN_MAGIC", PLAN_MAGIC);
	V("PLAN_MAX_REGIONS", PLAN_MAX_REGIONS);
	V("PLAN_MAX_KEEP", PLAN_MAX_KEEP);
	V("PLAN_MAX_FILTER", PLAN_MAX_FILTER);
	V("plan", sizeof(struct plan));
	F(plan, magic); F(plan, mem_fd); F(plan, nregions); F(plan, mem_start);
	F(plan, mem_end); F(plan, entry); F(plan, stack_top); F(plan, boot_info);
	F(plan, nkeep); F(plan, filter_len); F(plan, flags); F(plan, reserved);
	F(plan, regions); F(plan, keep);
	F(plan, filter);
	V("plan_region", sizeof(struct plan_region));
	F(plan_region, addr); F(plan_region, len); F(plan_region, prot);
	V("LOADER_USAGE", LOADER_USAGE); V("LOADER_READ_PLAN", LOADER_READ_PLAN);
	V("LOADER_BAD_PLAN", LOADER_BAD_PLAN); V("LOADER_MAP_GUEST", LOADER_MAP_GUEST);
	V("LOADER_SECCOMP", LOADER_SECCOMP); V("LOADER_PREFAULT", LOADER_PREFAULT);
	V("PLAN_PREFAULT", PLAN_PREFAULT);
	V("plan_insn", sizeof(struct plan_insn));
	F(plan_insn, code); F(plan_insn, jt); F(plan_insn, jf); F(plan_insn, k);

	V("RUNNC_ABI_VERSION", RUNNC_ABI_VERSION);
	V("RUNNC_ABI_TARGET_SPT", RUNNC_ABI_TARGET_SPT);
	V("RUNNC_NAME_MAX", RUNNC_NAME_MAX);
	V("RUNNC_MAX_DEVICES", RUNNC_MAX_DEVICES);
	V("RUNNC_DEV_NET_BASIC", RUNNC_DEV_NET_BASIC);
	V("RUNNC_DEV_BLOCK_BASIC", RUNNC_DEV_BLOCK_BASIC);
	V("RUNNC_GUEST_MIN_ADDR", RUNNC_GUEST_MIN_ADDR);
	V("RUNNC_BOOT_INFO_ADDR", RUNNC_BOOT_INFO_ADDR);
	V("RUNNC_CMDLINE_ADDR", RUNNC_CMDLINE_ADDR);
	V("RUNNC_CMDLINE_MAX", RUNNC_CMDLINE_MAX);
	V("RUNNC_GUEST_BASE", RUNNC_GUEST_BASE);
	V("RUNNC_BOOT_MAGIC", RUNNC_BOOT_MAGIC);
	V("RUNNC_BOOT_FSGSBASE", RUNNC_BOOT_FSGSBASE);
	V("RUNNC_BOOT_TLS_ARCH_PRCTL", RUNNC_BOOT_TLS_ARCH_PRCTL);
	V("RUNNC_BOOT_RNG_SEED", RUNNC_BOOT_RNG_SEED);
	V("RUNNC_RNG_SEED_SIZE", RUNNC_RNG_SEED_SIZE);
	V("RUNNC_NOTE_FEATURES", RUNNC_NOTE_FEATURES);
	V("RUNNC_FEATURE_VNET_HDR", RUNNC_FEATURE_VNET_HDR);
	V("RUNNC_FEATURE_TLS", RUNNC_FEATURE_TLS);
	V("RUNNC_DEVF_READONLY", RUNNC_DEVF_READONLY);
	V("RUNNC_DEVF_VNET_HDR", RUNNC_DEVF_VNET_HDR);
	V("RUNNC_DEVF_BLOCK_IO", RUNNC_DEVF_BLOCK_IO);
	V("RUNNC_DEVF_VNET_RX", RUNNC_DEVF_VNET_RX);
	V("RUNNC_FEATURE_VNET_RX", RUNNC_FEATURE_VNET_RX);
	V("RUNNC_BLOCK_IO_MAX", RUNNC_BLOCK_IO_MAX);
	V("runnc_device", sizeof(struct runnc_device));
	F(runnc_device, name); F(runnc_device, type); F(runnc_device, fd);
	F(runnc_device, flags);
	F(runnc_device, mac); F(runnc_device, mtu); F(runnc_device, capacity);
	F(runnc_device, block_size);
	V("runnc_boot_info", sizeof(struct runnc_boot_info));
	F(runnc_boot_info, magic); F(runnc_boot_info, abi_version);
	F(runnc_boot_info, flags); F(runnc_boot_info, cmdline);
	F(runnc_boot_info, mem_size); F(runnc_boot_info, heap_start);
	F(runnc_boot_info, heap_size); F(runnc_boot_info, ndevices);
	F(runnc_boot_info, entropy); F(runnc_boot_info, devices);
	F(runnc_boot_info, rng_seed);
	return 0;
}
`

// cValues compiles and runs cLayout with the host C compiler.
func cValues(t *testing.T) map[string]uint64 {
	t.Helper()
	cc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skipf("no C compiler: %v", err)
	}
	dir := t.TempDir()
	src, bin := filepath.Join(dir, "layout.c"), filepath.Join(dir, "layout")
	if err := os.WriteFile(src, []byte(cLayout), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(cc, "-std=gnu11", "-Wall", "-Werror", "-Istub", "-I../solo5/include", "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("compile the layout printer: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	v := map[string]uint64{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		k, s, _ := strings.Cut(line, " ")
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("bad line %q", line)
		}
		v[k] = n
	}
	return v
}

// field reads the little-endian field key (its offset and size from C)
// at base in b.
func field(t *testing.T, c map[string]uint64, b []byte, base uint64, key string) uint64 {
	t.Helper()
	off, size := base+c[key], c[key+".size"]
	if off+size > uint64(len(b)) {
		t.Fatalf("%s at %d+%d lies past the %d bytes Go wrote", key, off, size, len(b))
	}
	x := b[off : off+size]
	switch size {
	case 1:
		return uint64(x[0])
	case 2:
		return uint64(binary.LittleEndian.Uint16(x))
	case 4:
		return uint64(binary.LittleEndian.Uint32(x))
	case 8:
		return binary.LittleEndian.Uint64(x)
	}
	t.Fatalf("%s has size %d", key, size)
	return 0
}

// The plan Go writes is the struct plan the stub reads, field by field.
func TestPlanMatchesStub(t *testing.T) {
	c := cValues(t)
	for k, v := range map[string]uint64{
		"PLAN_MAGIC": planMagic, "PLAN_MAX_REGIONS": planMaxRegions,
		"PLAN_MAX_KEEP": planMaxKeep, "PLAN_MAX_FILTER": planMaxFilter, "plan": planSize,
		"PLAN_PREFAULT": planPrefault,
	} {
		if c[k] != v {
			t.Errorf("%s: C says %d, Go %d", k, c[k], v)
		}
	}
	p := &Prepared{
		devices:  []*device{{FD: 7}, {FD: 5}},
		prefault: true,
		filter:   []insn{{0x20, 0, 0, 4}, {0x15, 3, 250, 0xc000003e}, {0x06, 0, 0, 0x7fff0000}},
		layout: &layout{
			MemSize: 64 << 20, Entry: 0x100123, StackTop: 64<<20 - 16, BootInfo: bootInfoAddr,
			Regions: []region{{bootInfoAddr, 0x4000, protRead}, {guestBase, 0x2000, protRead | protExec}},
		},
	}
	b, err := p.plan(9)
	if err != nil {
		t.Fatal(err)
	}
	if uint64(len(b)) != c["plan"] {
		t.Fatalf("Go wrote %d bytes, sizeof(struct plan) is %d", len(b), c["plan"])
	}
	want := []struct {
		key  string
		base uint64
		v    uint64
	}{
		{"plan.magic", 0, planMagic},
		{"plan.mem_fd", 0, 9},
		{"plan.nregions", 0, 2},
		{"plan.mem_start", 0, bootInfoAddr},
		{"plan.mem_end", 0, 64 << 20},
		{"plan.entry", 0, 0x100123},
		{"plan.stack_top", 0, 64<<20 - 16},
		{"plan.boot_info", 0, bootInfoAddr},
		{"plan.nkeep", 0, 5},
		{"plan.filter_len", 0, 3},
		{"plan.flags", 0, planPrefault},
		{"plan.reserved", 0, 0},
		{"plan_region.addr", c["plan.regions"] + c["plan_region"], guestBase},
		{"plan_region.len", c["plan.regions"] + c["plan_region"], 0x2000},
		{"plan_region.prot", c["plan.regions"] + c["plan_region"], protRead | protExec},
		{"plan_insn.code", c["plan.filter"] + c["plan_insn"], 0x15},
		{"plan_insn.jt", c["plan.filter"] + c["plan_insn"], 3},
		{"plan_insn.jf", c["plan.filter"] + c["plan_insn"], 250},
		{"plan_insn.k", c["plan.filter"] + c["plan_insn"], 0xc000003e},
	}
	for _, w := range want {
		if got := field(t, c, b, w.base, w.key); got != w.v {
			t.Errorf("%s (at %d): %#x, want %#x", w.key, w.base+c[w.key], got, w.v)
		}
	}
	// The kept fds: stdio and the devices, ascending, as the stub's
	// close loop needs.
	for i, fd := range []uint32{0, 1, 2, 5, 7} {
		at := c["plan.keep"] + uint64(i)*4
		if got := binary.LittleEndian.Uint32(b[at:]); got != fd {
			t.Errorf("keep[%d]: %d, want %d", i, got, fd)
		}
	}
}

// The boot info Go lays out is the struct runnc_boot_info the bindings
// read, and Go's copies of the ABI constants are abi.h's.
func TestBootInfoMatchesABI(t *testing.T) {
	c := cValues(t)
	for k, v := range map[string]uint64{
		"RUNNC_ABI_VERSION": guestABIVersion, "RUNNC_ABI_TARGET_SPT": abiTarget,
		"RUNNC_NAME_MAX": nameMax, "RUNNC_MAX_DEVICES": maxDevices,
		"RUNNC_DEV_NET_BASIC": uint64(manifest.NetBasic), "RUNNC_DEV_BLOCK_BASIC": uint64(manifest.BlockBasic),
		"RUNNC_BOOT_INFO_ADDR": bootInfoAddr, "RUNNC_GUEST_MIN_ADDR": bootInfoAddr,
		"RUNNC_CMDLINE_ADDR": cmdlineAddr, "RUNNC_CMDLINE_MAX": cmdlineMax,
		"RUNNC_GUEST_BASE": guestBase, "RUNNC_BOOT_FSGSBASE": bootFlagFSGSBase,
		"RUNNC_BOOT_TLS_ARCH_PRCTL": bootFlagTLSArchPrctl, "RUNNC_FEATURE_TLS": featureTLS,
		"RUNNC_BOOT_RNG_SEED": bootFlagRNGSeed, "RUNNC_RNG_SEED_SIZE": rngSeedSize,
		"runnc_boot_info.rng_seed": rngSeedOffset,
		"runnc_device":             devRecordSize, "runnc_boot_info.devices": bootHdrSize,
		"RUNNC_NOTE_FEATURES": noteFeatures, "RUNNC_FEATURE_VNET_HDR": featureVnetHDR,
		"RUNNC_DEVF_READONLY": devFlagReadOnly, "RUNNC_DEVF_VNET_HDR": devFlagVnetHDR,
		"RUNNC_DEVF_BLOCK_IO": devFlagBlockIO, "RUNNC_BLOCK_IO_MAX": blockIOMax,
		"RUNNC_DEVF_VNET_RX": devFlagVnetRX, "RUNNC_FEATURE_VNET_RX": featureVnetRX,
	} {
		if c[k] != v {
			t.Errorf("%s: C says %d, Go %d", k, c[k], v)
		}
	}
	if c["runnc_boot_info"] > cmdlineAddr-bootInfoAddr {
		t.Errorf("struct runnc_boot_info is %d bytes: it runs into the command line at +%#x", c["runnc_boot_info"], cmdlineAddr-bootInfoAddr)
	}
	if cmdlineAddr+cmdlineMax > bootEnd {
		t.Errorf("the command line [%#x, +%d) runs past the boot pages' end %#x", cmdlineAddr, cmdlineMax, bootEnd)
	}

	img, err := CheckELF(buildELF(0x100000, validSegs(), guestABIVersion, testManifest()), testMem)
	if err != nil {
		t.Fatal(err)
	}
	devs := []*device{
		{Name: "service0", Type: manifest.NetBasic, FD: 5, MAC: [6]byte{2, 1, 2, 3, 4, 5}, MTU: 9000, VnetHDR: true, VnetRX: true},
		{Name: strings.Repeat("r", nameMax-1), Type: manifest.BlockBasic, FD: 6, Capacity: 1 << 30, BlockSize: 512, ReadOnly: true},
	}
	l, err := layOut(img, testMem, devs, "a b", bootFlagFSGSBase)
	if err != nil {
		t.Fatal(err)
	}
	var boot []byte
	for _, ch := range l.Chunks {
		if ch.Addr == bootInfoAddr {
			boot = ch.Data
		}
	}
	if boot == nil {
		t.Fatal("no boot info chunk")
	}
	want := []struct {
		key  string
		base uint64
		v    uint64
	}{
		{"runnc_boot_info.magic", 0, c["RUNNC_BOOT_MAGIC"]},
		{"runnc_boot_info.abi_version", 0, guestABIVersion},
		{"runnc_boot_info.flags", 0, bootFlagFSGSBase | bootFlagRNGSeed},
		{"runnc_boot_info.cmdline", 0, cmdlineAddr},
		{"runnc_boot_info.mem_size", 0, testMem},
		{"runnc_boot_info.heap_start", 0, img.end},
		{"runnc_boot_info.heap_size", 0, testMem - 32 - img.end},
		{"runnc_boot_info.rng_seed", 0, testMem - 32},
		{"runnc_boot_info.ndevices", 0, 2},
	}
	for i, d := range devs {
		base := c["runnc_boot_info.devices"] + uint64(i)*c["runnc_device"]
		want = append(want, []struct {
			key  string
			base uint64
			v    uint64
		}{
			{"runnc_device.type", base, uint64(d.Type)},
			{"runnc_device.fd", base, uint64(d.FD)},
			{"runnc_device.flags", base, map[bool]uint64{true: devFlagVnetHDR}[d.VnetHDR] | map[bool]uint64{true: devFlagReadOnly}[d.ReadOnly] |
				map[bool]uint64{true: devFlagVnetRX}[d.VnetRX] |
				map[bool]uint64{true: devFlagBlockIO}[d.Type == manifest.BlockBasic]},
			{"runnc_device.mtu", base, d.MTU},
			{"runnc_device.capacity", base, d.Capacity},
			{"runnc_device.block_size", base, d.BlockSize},
		}...)
		name := boot[base+c["runnc_device.name"]:][:c["runnc_device.name.size"]]
		if string(bytes.TrimRight(name, "\x00")) != d.Name || name[len(name)-1] != 0 {
			t.Errorf("device %d name %q, want %q NUL-terminated", i, name, d.Name)
		}
		if mac := boot[base+c["runnc_device.mac"]:][:6]; !bytes.Equal(mac, d.MAC[:]) {
			t.Errorf("device %d mac % x, want % x", i, mac, d.MAC)
		}
	}
	for _, w := range want {
		if got := field(t, c, boot, w.base, w.key); got != w.v {
			t.Errorf("%s (at %d): %#x, want %#x", w.key, w.base+c[w.key], got, w.v)
		}
	}
	// Entropy for the stack protector: present, and fresh for every guest.
	l2, err := layOut(img, testMem, devs, "a b", bootFlagFSGSBase)
	if err != nil {
		t.Fatal(err)
	}
	e1 := field(t, c, boot, 0, "runnc_boot_info.entropy")
	e2 := field(t, c, l2.Chunks[0].Data, 0, "runnc_boot_info.entropy")
	if c["runnc_boot_info.entropy"] != 56 || e1 == 0 || e1 == e2 {
		t.Errorf("boot info entropy at %d: %#x, then %#x; want random at 56, different per guest", c["runnc_boot_info.entropy"], e1, e2)
	}
	if l.StackTop != testMem-32 {
		t.Errorf("stack top %#x, want %#x: below the RNG seed", l.StackTop, testMem-32)
	}
	// The RNG seed: where the boot info says, above the stack, fresh for
	// every guest, and drawn apart from the guard (none of its 8-byte
	// windows is the guard).
	seed := func(l *layout) []byte {
		addr := field(t, c, l.Chunks[0].Data, 0, "runnc_boot_info.rng_seed")
		for _, ch := range l.Chunks {
			if ch.Addr == addr && uint64(len(ch.Data)) == c["RUNNC_RNG_SEED_SIZE"] {
				return ch.Data
			}
		}
		t.Fatalf("no %d-byte chunk at the RNG seed's address %#x", c["RUNNC_RNG_SEED_SIZE"], addr)
		return nil
	}
	s1, s2 := seed(l), seed(l2)
	if bytes.Equal(s1, make([]byte, len(s1))) || bytes.Equal(s1, s2) {
		t.Errorf("boot info rng_seed: % x, then % x; want random, different per guest", s1, s2)
	}
	var guard [8]byte
	binary.LittleEndian.PutUint64(guard[:], e1)
	for _, s := range [][]byte{s1, s2} {
		if bytes.Contains(s, guard[1:]) {
			t.Errorf("rng_seed % x holds the guard's bytes % x", s, guard)
		}
	}
	if cmd := boot[cmdlineAddr-bootInfoAddr:][:4]; string(cmd) != "a b\x00" {
		t.Errorf("command line %q, want \"a b\\x00\"", cmd)
	}
}
