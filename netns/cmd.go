package netns

import (
	"bytes"
	"os/exec"
)

// Cmd is an exec.Cmd whose process starts in a network namespace, what
// `ip netns exec` gives a shell: the child is forked from a thread inside
// Do, and a child inherits its parent thread's namespaces. Unlike ip(8) it
// does not remount /sys for the namespace. SysProcAttr.Pdeathsig must not
// be set: the forking thread exits right after Start, which would fire it.
type Cmd struct {
	*exec.Cmd
	NS string // path of the namespace (Path, or /proc/PID/ns/net)
}

// Command is exec.Command for a process in the namespace at nsPath.
func Command(nsPath, name string, arg ...string) *Cmd {
	return &Cmd{Cmd: exec.Command(name, arg...), NS: nsPath}
}

// Start starts the process inside the namespace.
func (c *Cmd) Start() error { return Do(c.NS, c.Cmd.Start) }

// Run starts the process inside the namespace and waits for it.
func (c *Cmd) Run() error {
	if err := c.Start(); err != nil {
		return err
	}
	return c.Wait()
}

// Output runs the process and returns its standard output.
func (c *Cmd) Output() ([]byte, error) {
	var out bytes.Buffer
	c.Stdout = &out
	err := c.Run()
	return out.Bytes(), err
}

// CombinedOutput runs the process and returns its standard output and
// standard error together.
func (c *Cmd) CombinedOutput() ([]byte, error) {
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	err := c.Run()
	return out.Bytes(), err
}
