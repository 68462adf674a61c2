package runnc

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/runnc/runnc/solo5/manifest"
	"github.com/runnc/runnc/tender"
)

// Kind says how a bundle runs.
type Kind string

const (
	// KindUnikernel: the process is the tender holding the unikernel.
	KindUnikernel Kind = "unikernel"
	// KindSandbox: the CRI pod sandbox (pause), run as a plain process.
	KindSandbox Kind = "sandbox"
)

// Memory sizes, in MiB (see the package doc).
const (
	DefaultGuestMiB   = 512
	TenderOverheadMiB = 2
	MinLimitMiB       = 8
)

// Paths inside a unikernel container.
const (
	ctrDir    = "/.runnc"
	ctrSpt    = ctrDir + "/runnc-spt"
	ctrNetDir = ctrDir + "/net"
	ctrArgs   = ctrNetDir + "/args"
	ctrImage  = ctrDir + "/rootfs.iso"
	tunPath   = "/dev/net/tun"
	rootfsDev = "rootfs"
)

// bundle is a loaded and classified OCI bundle.
type bundle struct {
	dir    string // absolute
	rootfs string // absolute host path
	spec   *specs.Spec
	kind   Kind

	// unikernel only
	guest    string // args[0] resolved, path inside the container
	manifest *manifest.Manifest
	guestMiB int
	// offloadable: the guest's bindings handle --net-offload; offload:
	// the tender gets it (see netOffload).
	offloadable, offload bool
	// prefault: the tender populates guest memory (see memPrefault).
	prefault bool
}

// NetOffloadAnnotation turns the tender's --net-offload off ("false") or
// on ("true") for one container, whatever the runtime's default
// (runnc --net-offload).
const NetOffloadAnnotation = "org.runnc.net-offload"

// netOffload decides whether the guest's net device gets --net-offload:
// the annotation if the spec has one, else def where the guest supports
// it. Asking for it for a guest that cannot take it is refused.
func (b *bundle) netOffload(def bool) (bool, error) {
	v, ok := b.spec.Annotations[NetOffloadAnnotation]
	if !ok {
		return def && b.offloadable, nil
	}
	switch v {
	case "false":
		return false, nil
	case "true":
		if !b.offloadable {
			return false, fmt.Errorf("annotation %s=true: unikernel %s does not support offload (no vnet_hdr feature note): rebuild it with this runnc's toolchain, or drop the annotation", NetOffloadAnnotation, b.guest)
		}
		return true, nil
	}
	return false, fmt.Errorf("annotation %s=%q: want true or false", NetOffloadAnnotation, v)
}

// MemPrefaultAnnotation turns the tender's --mem-prefault on ("true") or
// off ("false") for one container, whatever the runtime's default
// (runnc --mem-prefault): all of the guest's memory is allocated and
// charged to the container when it starts, and the guest never page-faults
// on it (README, "Prefaulted guest memory").
const MemPrefaultAnnotation = "org.runnc.mem-prefault"

// memPrefault decides whether the tender gets --mem-prefault: the
// annotation if the spec has one, else def.
func (b *bundle) memPrefault(def bool) (bool, error) {
	switch v, ok := b.spec.Annotations[MemPrefaultAnnotation]; {
	case !ok:
		return def, nil
	case v == "true" || v == "false":
		return v == "true", nil
	default:
		return false, fmt.Errorf("annotation %s=%q: want true or false", MemPrefaultAnnotation, v)
	}
}

// loadBundle reads config.json of dir and decides how it runs; every
// refusal is one line naming what is wrong.
func loadBundle(dir string) (*bundle, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", dir, err)
	}
	raw, err := os.ReadFile(filepath.Join(abs, "config.json"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("bundle %s has no config.json", abs)
		}
		return nil, fmt.Errorf("read config.json: %w", err)
	}
	var spec specs.Spec
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&spec); err != nil {
		return nil, fmt.Errorf("%s/config.json is not a valid OCI config: %v", abs, err)
	}
	b := &bundle{dir: abs, spec: &spec}
	if spec.Root == nil || spec.Root.Path == "" {
		return nil, fmt.Errorf("%s/config.json: root.path is not set", abs)
	}
	if spec.Process == nil || len(spec.Process.Args) == 0 {
		return nil, fmt.Errorf("%s/config.json: process.args is empty", abs)
	}
	if spec.Process.Cwd == "" || !filepath.IsAbs(spec.Process.Cwd) {
		return nil, fmt.Errorf("%s/config.json: process.cwd must be an absolute path", abs)
	}
	if spec.Linux == nil {
		return nil, fmt.Errorf("%s/config.json: no linux section", abs)
	}
	b.rootfs = spec.Root.Path
	if !filepath.IsAbs(b.rootfs) {
		b.rootfs = filepath.Join(abs, b.rootfs)
	}
	if fi, err := os.Stat(b.rootfs); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("rootfs %s is missing or not a directory", b.rootfs)
	}
	if isSandbox(spec.Annotations) {
		b.kind = KindSandbox
		return b, nil
	}
	return b, b.classifyUnikernel()
}

func isSandbox(a map[string]string) bool {
	return a["io.kubernetes.cri.container-type"] == "sandbox" ||
		a["io.kubernetes.cri-o.ContainerType"] == "sandbox"
}

// classifyUnikernel resolves args[0] inside the rootfs and checks that it
// is a unikernel this tender can run in the memory the spec gives.
func (b *bundle) classifyUnikernel() error {
	p := b.spec.Process
	ctrPath, hostPath, err := b.resolve(p.Args[0])
	if err != nil {
		return err
	}
	data, err := os.ReadFile(hostPath)
	if err != nil {
		return fmt.Errorf("entrypoint %s: %v", ctrPath, err)
	}
	if why := notUnikernel(data); strings.HasPrefix(why, "a corrupt unikernel: ") {
		return fmt.Errorf("unikernel %s is corrupt (%s)", ctrPath, strings.TrimPrefix(why, "a corrupt unikernel: "))
	} else if why != "" {
		return fmt.Errorf("entrypoint %s is not a runnc unikernel (%s): runnc runs only unikernels", ctrPath, why)
	}
	if b.guestMiB, err = guestMemory(b.spec); err != nil {
		return err
	}
	img, err := tender.CheckELF(data, uint64(b.guestMiB)<<20)
	if err != nil {
		return fmt.Errorf("unikernel %s cannot run: %v", ctrPath, err)
	}
	b.kind, b.guest, b.manifest = KindUnikernel, ctrPath, img.Manifest
	b.offloadable = img.NetOffload()
	nets := 0
	for _, d := range img.Manifest.Devices {
		switch {
		case d.Type == manifest.NetBasic:
			nets++
		case d.Type == manifest.BlockBasic && d.Name == rootfsDev:
		default:
			return fmt.Errorf("unikernel %s declares %s device %q: runnc attaches one NET_BASIC device and the BLOCK_BASIC device %q only", ctrPath, d.Type, d.Name, rootfsDev)
		}
	}
	if nets > 1 {
		return fmt.Errorf("unikernel %s declares %d NET_BASIC devices: runnc attaches one (the container's eth0)", ctrPath, nets)
	}
	return nil
}

// resolve finds name inside the rootfs as execve in the container would
// (PATH of process.env for a bare name, symlinks kept inside the rootfs)
// and returns its path in the container and on the host.
func (b *bundle) resolve(name string) (ctr, host string, err error) {
	var cands []string
	switch {
	case strings.Contains(name, "/"):
		if !path.IsAbs(name) {
			name = path.Join(b.spec.Process.Cwd, name)
		}
		cands = []string{name}
	default:
		pathEnv := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
		for _, e := range b.spec.Process.Env {
			if v, ok := strings.CutPrefix(e, "PATH="); ok {
				pathEnv = v
			}
		}
		for _, d := range filepath.SplitList(pathEnv) {
			if path.IsAbs(d) {
				cands = append(cands, path.Join(d, name))
			}
		}
	}
	for _, c := range cands {
		h, err := securejoin.SecureJoin(b.rootfs, c)
		if err != nil {
			continue
		}
		if fi, err := os.Stat(h); err == nil && fi.Mode().IsRegular() {
			rel, _ := filepath.Rel(b.rootfs, h)
			return "/" + filepath.ToSlash(rel), h, nil
		}
	}
	return "", "", fmt.Errorf("entrypoint %s: no such file in the rootfs %s", b.spec.Process.Args[0], b.rootfs)
}

// notUnikernel says why data is not a runnc unikernel, or "" if it carries
// the RUNNC ABI note (the tender's checks say whether it can run).
func notUnikernel(data []byte) string {
	if !bytes.HasPrefix(data, []byte("\x7fELF")) {
		if bytes.HasPrefix(data, []byte("#!")) {
			return "a script"
		}
		return "not an ELF file"
	}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		if bytes.Contains(data, []byte("RUNNC\x00")) {
			// The note's name is there: a damaged unikernel, not a
			// program of another kind.
			return "a corrupt unikernel: " + err.Error()
		}
		return "corrupt ELF: " + err.Error()
	}
	for _, p := range f.Progs {
		if p.Type != elf.PT_NOTE {
			continue
		}
		b := make([]byte, p.Filesz)
		if _, err := p.ReadAt(b, 0); err != nil {
			return "corrupt ELF note: " + err.Error()
		}
		for len(b) >= 12 {
			nsz, dsz, typ := binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:]), binary.LittleEndian.Uint32(b[8:])
			nameEnd := 12 + (uint64(nsz)+3)&^3
			end := nameEnd + (uint64(dsz)+3)&^3
			if end > uint64(len(b)) {
				break
			}
			if string(b[12:12+nsz]) == "RUNNC\x00" && typ == 1 {
				return ""
			}
			b = b[end:]
		}
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return "a dynamically linked Linux program, no RUNNC ABI note"
		}
	}
	return "an ELF without the RUNNC ABI note"
}

// guestMemory is the guest's memory in MiB for the spec's memory limit.
func guestMemory(spec *specs.Spec) (int, error) {
	r := spec.Linux.Resources
	if r == nil || r.Memory == nil || r.Memory.Limit == nil || *r.Memory.Limit <= 0 {
		return DefaultGuestMiB, nil
	}
	lim := *r.Memory.Limit
	if lim < MinLimitMiB<<20 {
		return 0, fmt.Errorf("memory limit %d bytes is below runnc's minimum of %d MiB", lim, MinLimitMiB)
	}
	mib := int(lim>>20) - TenderOverheadMiB
	if mib > 64<<10 {
		mib = 64 << 10
	}
	return mib, nil
}
