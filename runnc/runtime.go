package runnc

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/runnc/runnc/netns"
	"github.com/runnc/runnc/runnc/rootfs"
	"github.com/runnc/runnc/solo5/manifest"
)

// Runtime is runnc with its global options.
type Runtime struct {
	Root          string // state directory (--root)
	SystemdCgroup bool
	Spt           string // runnc-spt on the host
	// NoNetOffload: no --net-offload for the guests' net devices unless
	// a container's annotation asks for it (runnc --net-offload=false).
	// Offload is on by default: README, "The offload default".
	NoNetOffload bool
	// MemPrefault: --mem-prefault for every guest unless a container's
	// annotation says false (runnc --mem-prefault).
	MemPrefault bool
}

// CreateOpts are the options of create and run.
type CreateOpts struct {
	ID, Bundle, PidFile, ConsoleSocket string
	NoPivot, NoNewKeyring              bool
	PreserveFDs                        int
}

// saved is runnc's part of a container's state, next to libcontainer's.
type saved struct {
	Kind  Kind            `json:"kind"`
	NetNS string          `json:"netns,omitempty"` // where the tap lives, to undo
	Net   *netns.GuestNet `json:"net,omitempty"`
	Image bool            `json:"image,omitempty"`
}

// tapName is the tap runnc makes in the container's network namespace.
const tapName = "runnc0"

func (r *Runtime) stateDir(id string) string { return filepath.Join(r.Root, id) }
func (r *Runtime) ownDir(id string) string   { return filepath.Join(r.Root, id, "runnc") }
func (r *Runtime) imageDir() string          { return filepath.Join(r.Root, ".images") }

// Create sets up the container and leaves its init waiting for start.
func (r *Runtime) Create(o CreateOpts) error {
	_, _, err := r.create(o, true)
	return err
}

// create does create for both create and run; detach says whether the
// console goes to a console socket (create, run -d).
func (r *Runtime) create(o CreateOpts, detach bool) (ctr *libcontainer.Container, proc *libcontainer.Process, err error) {
	if o.ID == "" {
		return nil, nil, errors.New("container id cannot be empty")
	}
	if _, err := os.Stat(r.stateDir(o.ID)); err == nil {
		return nil, nil, fmt.Errorf("container %s already exists", o.ID)
	}
	b, err := loadBundle(o.Bundle)
	if err != nil {
		return nil, nil, err
	}
	p := b.spec.Process
	if p.Terminal && o.ConsoleSocket == "" {
		if detach {
			return nil, nil, errors.New("process.terminal is true: a console socket is needed (--console-socket)")
		}
		return nil, nil, errors.New("process.terminal is true: runnc run in the foreground gives no terminal; use --detach --console-socket or terminal: false")
	}
	if !p.Terminal && o.ConsoleSocket != "" {
		return nil, nil, errors.New("--console-socket given but process.terminal is false")
	}
	// specconv takes the bundle as the current directory, as runc does.
	if err := os.Chdir(b.dir); err != nil {
		return nil, nil, fmt.Errorf("bundle %s: %w", b.dir, err)
	}
	if err := os.MkdirAll(r.Root, 0o711); err != nil {
		return nil, nil, fmt.Errorf("state root %s: %w", r.Root, err)
	}
	st := &saved{Kind: b.kind}
	var image string
	if b.kind == KindUnikernel {
		if b.offload, err = b.netOffload(!r.NoNetOffload); err != nil {
			return nil, nil, err
		}
		if b.prefault, err = b.memPrefault(r.MemPrefault); err != nil {
			return nil, nil, err
		}
		if b.hasDevice(manifest.BlockBasic) != "" {
			if image, err = rootfs.Build(r.imageDir(), b.rootfs, b.imageExtras(), o.ID); err != nil {
				return nil, nil, fmt.Errorf("rootfs image: %w", err)
			}
			st.Image = true
			defer func() {
				if err != nil {
					rootfs.Release(r.imageDir(), o.ID)
				}
			}()
		}
		if r.Spt == "" {
			return nil, nil, errors.New("runnc-spt not found: install it next to runnc")
		}
		b.rewrite(r.Spt, image, filepath.Join(r.ownDir(o.ID), "net"))
	}
	cfg, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{
		CgroupName:       o.ID,
		UseSystemdCgroup: r.SystemdCgroup,
		NoPivotRoot:      o.NoPivot,
		NoNewKeyring:     o.NoNewKeyring,
		Spec:             b.spec,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("config.json: %w", err)
	}
	lc, err := libcontainer.Create(r.Root, o.ID, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("create %s: %w", o.ID, err)
	}
	defer func() {
		if err != nil {
			r.destroy(lc, st)
		}
	}()
	if err = os.MkdirAll(filepath.Join(r.ownDir(o.ID), "net"), 0o755); err != nil {
		return nil, nil, err
	}
	if err = r.save(o.ID, st); err != nil {
		return nil, nil, err
	}
	proc, err = newProcess(p)
	if err != nil {
		return nil, nil, err
	}
	proc.Init = true
	proc.LogLevel = strconv.Itoa(int(logrus.GetLevel()))
	for i := 0; i < o.PreserveFDs; i++ {
		proc.ExtraFiles = append(proc.ExtraFiles, os.NewFile(uintptr(3+i), "preserved-fd-"+strconv.Itoa(i)))
	}
	if o.ConsoleSocket != "" {
		conn, err := net.Dial("unix", o.ConsoleSocket)
		if err != nil {
			return nil, nil, fmt.Errorf("console socket %s: %w", o.ConsoleSocket, err)
		}
		defer conn.Close()
		f, err := conn.(*net.UnixConn).File()
		if err != nil {
			return nil, nil, fmt.Errorf("console socket: %w", err)
		}
		defer f.Close()
		proc.ConsoleSocket = f
	} else {
		// Passed through untouched: the shim's pipes, or our terminal.
		proc.Stdin, proc.Stdout, proc.Stderr = os.Stdin, os.Stdout, os.Stderr
	}
	if err = lc.Start(proc); err != nil {
		return nil, nil, fmt.Errorf("start init: %w", err)
	}
	// The init waits on the exec fifo; the engine's prestart and
	// createRuntime hooks ran. Now eth0 is there to hand over.
	if b.kind == KindUnikernel {
		if err = r.handOff(lc, b, st); err != nil {
			return nil, nil, err
		}
	}
	if o.PidFile != "" {
		pid, _ := proc.Pid()
		if err = writePidFile(o.PidFile, pid); err != nil {
			return nil, nil, err
		}
	}
	return lc, proc, nil
}

// handOff gives the container's eth0 to the guest and writes the
// tender's late options (the args file under /.runnc/net).
func (r *Runtime) handOff(ctr *libcontainer.Container, b *bundle, st *saved) error {
	var lines []string
	if name := b.hasDevice(manifest.NetBasic); name != "" {
		cfg := ctr.Config()
		state, err := ctr.State()
		if err != nil {
			return err
		}
		if !cfg.Namespaces.Contains(configs.NEWNET) {
			return fmt.Errorf("unikernel %s needs a network device but the container shares the host's network namespace", b.guest)
		}
		nsPath := cfg.Namespaces.PathOf(configs.NEWNET)
		if nsPath != "" {
			st.NetNS = nsPath
		} else {
			nsPath = fmt.Sprintf("/proc/%d/ns/net", state.InitProcessPid)
		}
		uid, err := cfg.HostUID(int(b.spec.Process.User.UID))
		if err != nil {
			return err
		}
		gid, err := cfg.HostGID(int(b.spec.Process.User.GID))
		if err != nil {
			return err
		}
		g, err := netns.Handoff(nsPath, tapName, uid, gid)
		if err != nil {
			return fmt.Errorf("network hand-off: %w", err)
		}
		if g == nil {
			return fmt.Errorf("unikernel %s declares NET_BASIC device %q but the container has no eth0", b.guest, name)
		}
		st.Net = g
		if err := r.save(ctr.ID(), st); err != nil {
			netns.Undo(nsPath, g)
			return err
		}
		lines = append(lines, "--net:"+name+"="+g.Tap, "--net-mac:"+name+"="+g.MAC)
		if b.offload {
			lines = append(lines, "--net-offload:"+name)
		}
		lines = append(lines, "--",
			fmt.Sprintf("--ipv4=%s/%d", g.IP, g.PrefixLen))
		if g.Gateway != "" {
			lines = append(lines, "--ipv4-gateway="+g.Gateway)
		}
	}
	f := filepath.Join(r.ownDir(ctr.ID()), "net", "args")
	return os.WriteFile(f, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}

func (r *Runtime) save(id string, st *saved) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(r.ownDir(id), "runnc.json"), b, 0o600)
}

func (r *Runtime) loadSaved(id string) *saved {
	st := &saved{}
	b, err := os.ReadFile(filepath.Join(r.ownDir(id), "runnc.json"))
	if err == nil {
		json.Unmarshal(b, st)
	}
	return st
}

// load opens container id.
func (r *Runtime) load(id string) (*libcontainer.Container, error) {
	if id == "" {
		return nil, errors.New("container id cannot be empty")
	}
	ctr, err := libcontainer.Load(r.Root, id)
	if err != nil {
		if errors.Is(err, libcontainer.ErrNotExist) {
			return nil, fmt.Errorf("container %s does not exist", id)
		}
		return nil, fmt.Errorf("container %s: %w", id, err)
	}
	return ctr, nil
}

// Start lets a created container's init exec the tender.
func (r *Runtime) Start(id string) error {
	ctr, err := r.load(id)
	if err != nil {
		return err
	}
	s, err := ctr.Status()
	if err != nil {
		return err
	}
	switch s {
	case libcontainer.Created:
		return ctr.Exec()
	case libcontainer.Stopped:
		return fmt.Errorf("cannot start container %s: it has stopped", id)
	default:
		return fmt.Errorf("cannot start container %s: it is %s, not created", id, s)
	}
}

// Run creates and starts; without detach it waits and returns the exit
// status of the guest, and deletes the container.
func (r *Runtime) Run(o CreateOpts, detach bool) (int, error) {
	ctr, proc, err := r.create(o, detach)
	if err != nil {
		return -1, err
	}
	st := r.loadSaved(o.ID)
	var sigs chan os.Signal
	if !detach {
		sigs = forwardSignals()
	}
	if err := ctr.Exec(); err != nil {
		r.destroy(ctr, st)
		return -1, fmt.Errorf("start %s: %w", o.ID, err)
	}
	if detach {
		return 0, nil
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				r.signal(ctr, st, s.(syscall.Signal), false)
			case <-done:
				return
			}
		}
	}()
	ps, err := proc.Wait()
	close(done)
	r.destroy(ctr, st)
	if ps == nil {
		return -1, fmt.Errorf("wait for %s: %w", o.ID, err)
	}
	return exitStatus(ps.Sys().(syscall.WaitStatus)), nil
}

func exitStatus(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// Kill sends sig to the container's init (all its processes with all).
func (r *Runtime) Kill(id string, sig unix.Signal, all bool) error {
	ctr, err := r.load(id)
	if err != nil {
		return err
	}
	s, err := ctr.Status()
	if err != nil {
		return err
	}
	if s == libcontainer.Stopped {
		if all {
			return nil
		}
		return fmt.Errorf("cannot kill container %s: it is not running", id)
	}
	return r.signal(ctr, r.loadSaved(id), sig, all)
}

func (r *Runtime) signal(ctr *libcontainer.Container, st *saved, sig unix.Signal, all bool) error {
	if st.Kind == KindUnikernel && terminates(sig) {
		sig = unix.SIGKILL
	}
	if all {
		pids, err := ctr.Processes()
		if err == nil {
			for _, pid := range pids {
				unix.Kill(pid, sig)
			}
			return nil
		}
	}
	if err := ctr.Signal(sig); err != nil {
		if errors.Is(err, libcontainer.ErrNotRunning) {
			return fmt.Errorf("cannot kill container %s: it is not running", ctr.ID())
		}
		return err
	}
	return nil
}

// terminates says whether sig's default action ends a process.
func terminates(sig unix.Signal) bool {
	switch sig {
	case unix.SIGCHLD, unix.SIGCONT, unix.SIGSTOP, unix.SIGTSTP, unix.SIGTTIN,
		unix.SIGTTOU, unix.SIGURG, unix.SIGWINCH, 0:
		return false
	}
	return true
}

// Delete removes a stopped (or, with force, any) container and all it held.
func (r *Runtime) Delete(id string, force bool) error {
	ctr, err := r.load(id)
	if err != nil {
		// An aborted create may leave a directory libcontainer does not
		// know; remove it.
		if id != "" && !strings.ContainsAny(id, "/") {
			if _, serr := os.Stat(r.stateDir(id)); serr == nil {
				rootfs.Release(r.imageDir(), id)
				os.RemoveAll(r.stateDir(id))
				return nil
			}
		}
		if force && id != "" {
			return nil
		}
		return err
	}
	st := r.loadSaved(id)
	s, err := ctr.Status()
	if err != nil {
		return err
	}
	switch {
	case s == libcontainer.Stopped:
	case s == libcontainer.Created || force:
		ctr.Signal(unix.SIGKILL)
		if err := waitStopped(ctr); err != nil {
			return err
		}
	default:
		return fmt.Errorf("cannot delete container %s: it is %s; stop it first or use delete --force", id, s)
	}
	return r.destroy(ctr, st)
}

func waitStopped(ctr *libcontainer.Container) error {
	for i := 0; i < 2000; i++ {
		if s, err := ctr.Status(); err != nil || s == libcontainer.Stopped {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("container %s: init still running 10 s after SIGKILL", ctr.ID())
}

// destroy undoes the network hand-off, lets libcontainer remove cgroups,
// state and run poststop hooks, and releases the image.
func (r *Runtime) destroy(ctr *libcontainer.Container, st *saved) error {
	if st.Net != nil && st.NetNS != "" {
		if err := netns.Undo(st.NetNS, st.Net); err != nil {
			logrus.Warnf("undo network of %s: %v", ctr.ID(), err)
		}
	}
	err := ctr.Destroy()
	if st.Image {
		if e := rootfs.Release(r.imageDir(), ctr.ID()); e != nil && err == nil {
			err = e
		}
	}
	return err
}

// State is what `runnc state` prints (runc's fields).
type State struct {
	specs.State
	Rootfs  string    `json:"rootfs"`
	Created time.Time `json:"created"`
	Owner   string    `json:"owner"`
}

// State returns the OCI state of container id.
func (r *Runtime) State(id string) (*State, error) {
	ctr, err := r.load(id)
	if err != nil {
		return nil, err
	}
	return stateOf(ctr)
}

func stateOf(ctr *libcontainer.Container) (*State, error) {
	oci, err := ctr.OCIState()
	if err != nil {
		return nil, err
	}
	ls, err := ctr.State()
	if err != nil {
		return nil, err
	}
	if oci.Status == specs.StateStopped {
		oci.Pid = 0
	}
	return &State{State: *oci, Rootfs: ls.BaseState.Config.Rootfs, Created: ls.BaseState.Created}, nil
}

// List returns the states of every container under the root.
func (r *Runtime) List() ([]*State, error) {
	ents, err := os.ReadDir(r.Root)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []*State
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		ctr, err := libcontainer.Load(r.Root, e.Name())
		if err != nil {
			continue
		}
		if s, err := stateOf(ctr); err == nil {
			out = append(out, s)
		}
	}
	return out, nil
}

// Ps lists the host pids of the container's processes.
func (r *Runtime) Ps(id string) ([]int, error) {
	ctr, err := r.load(id)
	if err != nil {
		return nil, err
	}
	return ctr.Processes()
}

func writePidFile(path string, pid int) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path))
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return fmt.Errorf("pid file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("pid file: %w", err)
	}
	return nil
}
