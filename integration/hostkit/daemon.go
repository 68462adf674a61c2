// Package hostkit is what the tests that run runnc under real daemons
// (integration/engines: dockerd, containerd, Podman; integration/k8s: a
// Kubernetes node) share: daemons started and stopped by pid on private
// sockets and folders, the README's snippets as written, a host bridge,
// containerd with the README's runnc handler, runnc's own refusal of an
// image, and the record of what the host had before, to find what a test
// left behind.
package hostkit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/runnc/runnc/integration/testnet"
)

// Daemon is a process a test started, known by its pid.
type Daemon struct {
	Name string
	Cmd  *exec.Cmd
	Log  string // its stdout and stderr
	Done chan struct{}
}

// Start starts args as daemon name, its output in dir/name.log.
func Start(dir, name string, args ...string) (*Daemon, error) {
	logPath := filepath.Join(dir, name+".log")
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = lf, lf
	// Its own process group: a Ctrl-C of the test run reaches us, and we
	// stop the daemon in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	d := &Daemon{Name: name, Cmd: cmd, Log: logPath, Done: make(chan struct{})}
	go func() { cmd.Wait(); lf.Close(); close(d.Done) }()
	return d, nil
}

// WaitReady polls probe until it succeeds, the daemon dies or d passes.
func (d *Daemon) WaitReady(wait time.Duration, probe func() error) error {
	deadline := time.Now().Add(wait)
	for {
		err := probe()
		if err == nil {
			return nil
		}
		select {
		case <-d.Done:
			return fmt.Errorf("%s exited at start: %s", d.Name, Tail(d.Log))
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %v (%v): %s", d.Name, wait, err, Tail(d.Log))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Stop sends SIGTERM to the daemon's pid and waits for it, SIGKILL after 30 s.
func (d *Daemon) Stop() error {
	d.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.Done:
		return nil
	case <-time.After(30 * time.Second):
		d.Cmd.Process.Kill()
		<-d.Done
		return fmt.Errorf("%s ignored SIGTERM for 30 s; killed", d.Name)
	}
}

// Tail is the end of the file at path, for error messages.
func Tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// RunTimeout runs cmd, killing it after d, and returns its combined output.
func RunTimeout(d time.Duration, cmd *exec.Cmd) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	c := exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	c.Env, c.Dir, c.Stdin = cmd.Env, cmd.Dir, cmd.Stdin
	out, err := c.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %v: %w", d, err)
	}
	return string(out), err
}

// ExitCode is the exit status of a finished command's error (0 for nil).
func ExitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// WaitTCP waits until addr accepts a connection from the host.
func WaitTCP(addr string, d time.Duration) error {
	err := testnet.WaitDial(func() (net.Conn, error) { return net.DialTimeout("tcp", addr, time.Second) }, d)
	if err != nil {
		return fmt.Errorf("%s not answering after %v: %w", addr, d, err)
	}
	return nil
}

// FreePort is a TCP port on 127.0.0.1 nothing listens on right now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
