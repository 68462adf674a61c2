package tender

import (
	_ "embed"
	"encoding/binary"
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The loader stub (tender/stub), built by the Makefile before the tender.
//
//go:embed stub/stub.elf
var stub []byte

// Prepared is a checked guest with its devices attached and its filter
// built: FilterText shows the filter, Exec runs the guest.
type Prepared struct {
	image   *Image
	devices []*device
	policy  *policy
	filter  []insn
	layout  *layout
	// prefault: the loader populates guest memory (--mem-prefault).
	prefault bool
}

// Prepare does every check and opens every device; nothing runs yet.
func Prepare(cfg *Config) (*Prepared, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	memSize := uint64(cfg.memMB()) << 20
	img, err := LoadKernel(cfg.Kernel, memSize)
	if err != nil {
		return nil, err
	}
	if err := checkFeatures(cfg, img); err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Kernel, err)
	}
	devs, err := attachAll(cfg, img.Manifest)
	if err != nil {
		return nil, err
	}
	if err := offloadReceive(devs, img); err != nil {
		closeAll(devs)
		return nil, err
	}
	p := &Prepared{image: img, devices: devs, policy: newPolicy(modules(), devs), prefault: cfg.MemPrefault}
	flags, tlsReason := tlsMode(img, hasFSGSBase(), cfg.NoFSGSBase)
	if tlsReason != "" {
		allowTLS(p.policy, memSize, tlsReason)
	}
	if p.filter, err = p.policy.compile(); err != nil {
		closeAll(devs)
		return nil, err
	}
	if p.layout, err = layOut(img, memSize, devs, strings.Join(cfg.Args, " "), flags); err != nil {
		closeAll(devs)
		return nil, err
	}
	if _, err := p.plan(-1); err != nil { // what the loader can take
		closeAll(devs)
		return nil, err
	}
	return p, nil
}

// Program is the compiled seccomp filter, as the kernel takes it.
func (p *Prepared) Program() []unix.SockFilter {
	out := make([]unix.SockFilter, len(p.filter))
	for i, in := range p.filter {
		out[i] = unix.SockFilter{Code: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	return out
}

// FilterText is the seccomp policy as --print-filter prints it: one line
// per allowed call with its conditions and what each is for.
func (p *Prepared) FilterText() string { return p.policy.String() }

// Close releases the devices of a guest that will not run (Exec hands
// them to the guest instead).
func (p *Prepared) Close() { closeAll(p.devices) }

// plan layout: tender/stub/plan.h.
const (
	planMagic      = 0x6e616c70636e6e72
	planMaxRegions = 20
	planMaxKeep    = 72
	planMaxFilter  = 4096
	planPrefault   = 1 // PLAN_PREFAULT
	planSize       = 72 + planMaxRegions*24 + planMaxKeep*4 + planMaxFilter*8
)

func (p *Prepared) plan(memFD int) ([]byte, error) {
	l := p.layout
	if len(l.Regions) > planMaxRegions || len(p.filter) > planMaxFilter {
		return nil, fmt.Errorf("guest needs %d memory regions and %d filter instructions; the loader takes %d and %d", len(l.Regions), len(p.filter), planMaxRegions, planMaxFilter)
	}
	keep := []int{0, 1, 2}
	for _, d := range p.devices {
		keep = append(keep, d.FD)
	}
	sort.Ints(keep)
	b := make([]byte, planSize)
	le := binary.LittleEndian
	le.PutUint64(b[0:], planMagic)
	le.PutUint32(b[8:], uint32(memFD))
	le.PutUint32(b[12:], uint32(len(l.Regions)))
	le.PutUint64(b[16:], bootInfoAddr)
	le.PutUint64(b[24:], l.MemSize)
	le.PutUint64(b[32:], l.Entry)
	le.PutUint64(b[40:], l.StackTop)
	le.PutUint64(b[48:], l.BootInfo)
	le.PutUint32(b[56:], uint32(len(keep)))
	le.PutUint32(b[60:], uint32(len(p.filter)))
	if p.prefault {
		le.PutUint32(b[64:], planPrefault)
	}
	// 68..72: reserved, zero
	off := 72
	for i, r := range l.Regions {
		x := b[off+i*24:]
		le.PutUint64(x[0:], r.Addr)
		le.PutUint64(x[8:], r.Len)
		le.PutUint32(x[16:], r.Prot)
	}
	off += planMaxRegions * 24
	for i, fd := range keep {
		le.PutUint32(b[off+i*4:], uint32(fd))
	}
	off += planMaxKeep * 4
	for i, in := range p.filter {
		x := b[off+i*8:]
		le.PutUint16(x[0:], in.Code)
		x[2], x[3] = in.Jt, in.Jf
		le.PutUint32(x[4:], in.K)
	}
	return b[:planSize], nil
}

// Exec hands the process over to the guest: guest memory and the plan go
// into memfds, the device fds are made inheritable, and the process execs
// the loader stub. It returns only on error.
func (p *Prepared) Exec() error {
	mem, err := memfd("runnc-guest", nil, int64(p.layout.MemSize))
	if err != nil {
		return err
	}
	// Only the non-zero parts: the file is sparse, and writing a megabyte
	// of zeros would cost more than the rest of the start.
	for _, c := range p.layout.Chunks {
		for off := 0; off < len(c.Data); {
			n, err := unix.Pwrite(mem, c.Data[off:], int64(c.Addr)+int64(off))
			if err != nil {
				return fmt.Errorf("write guest memory: %w", err)
			}
			off += n
		}
	}
	plan, err := p.plan(mem)
	if err != nil {
		return err
	}
	planFD, err := memfd("runnc-plan", plan, 0)
	if err != nil {
		return err
	}
	loader, err := memfd("runnc-loader", stub, 0)
	if err != nil {
		return err
	}
	for _, fd := range []int{mem, planFD} {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0); err != nil {
			return fmt.Errorf("fcntl: %w", err)
		}
	}
	for _, d := range p.devices {
		if _, err := unix.FcntlInt(uintptr(d.FD), unix.F_SETFD, 0); err != nil {
			return fmt.Errorf("%s: fcntl: %w", d.Name, err)
		}
	}
	argv := []string{"runnc-spt", strconv.Itoa(planFD)}
	var argvp []*byte
	for _, a := range argv {
		b, err := unix.BytePtrFromString(a)
		if err != nil {
			return err
		}
		argvp = append(argvp, b)
	}
	argvp = append(argvp, nil)
	envp := []*byte{nil}
	empty := []byte{0}
	_, _, e := unix.Syscall6(unix.SYS_EXECVEAT, uintptr(loader),
		uintptr(unsafe.Pointer(&empty[0])), uintptr(unsafe.Pointer(&argvp[0])),
		uintptr(unsafe.Pointer(&envp[0])), unix.AT_EMPTY_PATH, 0)
	// The device files must not be finalized (closed) before the exec.
	runtime.KeepAlive(p)
	return fmt.Errorf("exec loader: %v", e)
}

// memfd returns an fd (close-on-exec) of an anonymous file holding data,
// sized to size if larger.
func memfd(name string, data []byte, size int64) (int, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("memfd_create: %w", err)
	}
	if size > int64(len(data)) {
		if err := unix.Ftruncate(fd, size); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("size guest memory: %w", err)
		}
	}
	for off := 0; off < len(data); {
		n, err := unix.Pwrite(fd, data[off:], int64(off))
		if err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("write %s: %w", name, err)
		}
		off += n
	}
	return fd, nil
}
