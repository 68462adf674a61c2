package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Bad input: one line naming the problem, exit status 1, nothing run.
func TestRefusals(t *testing.T) {
	spt, _ := filepath.Abs("../../build/bin/runnc-spt")
	tests, _ := filepath.Abs("../../build/unikernels/tests")
	if _, err := os.Stat(filepath.Join(tests, "blk.spt")); err != nil {
		t.Skip("guests not built: run make")
	}
	dir := t.TempDir()
	notELF := filepath.Join(dir, "script.spt")
	os.WriteFile(notELF, []byte("#!/bin/sh\necho pwned\n"), 0o755)
	small := filepath.Join(dir, "small.img")
	os.WriteFile(small, make([]byte, 100), 0o644)
	// 1 MiB and 512 bytes: a multiple of 512, not of 4096.
	odd := filepath.Join(dir, "odd.img")
	os.WriteFile(odd, make([]byte, 1<<20+512), 0o644)
	hostELF, _ := exec.LookPath("true")
	// A guest whose bindings predate offload: its features note hidden.
	oldGuest := filepath.Join(dir, "old.spt")
	netSPT, _ := os.ReadFile(filepath.Join(tests, "net.spt"))
	featNote := []byte("\x06\x00\x00\x00\x04\x00\x00\x00\x03\x00\x00\x00RUNNC\x00\x00\x00")
	if i := bytes.Index(netSPT, featNote); i < 0 {
		t.Fatal("net.spt has no features note")
	} else {
		netSPT[i+8] = 0x7f // an unknown note type, skipped
	}
	os.WriteFile(oldGuest, netSPT, 0o755)

	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no kernel", nil, "no KERNEL given"},
		{"unknown option", []string{"--frobnicate", "x.spt"}, "unknown option --frobnicate"},
		{"bad mem", []string{"--mem=0", "x.spt"}, "--mem=0"},
		{"missing kernel", []string{filepath.Join(dir, "nope.spt")}, "no such file"},
		{"not an ELF", []string{notELF}, "not an ELF file"},
		{"host program", []string{hostELF}, "x.spt"},
		{"missing block device", []string{filepath.Join(tests, "blk.spt")}, `declares BLOCK_BASIC device "storage"`},
		{"undeclared device", []string{"--block:storage=" + small, "--block:other=" + small, filepath.Join(tests, "blk.spt")}, `no BLOCK_BASIC device of that name`},
		{"short block file", []string{"--block:storage=" + small, filepath.Join(tests, "blk.spt")}, "not a positive multiple of the block size"},
		{"missing block file", []string{"--block:storage=" + filepath.Join(dir, "none.img"), filepath.Join(tests, "blk.spt")}, "no such file"},
		{"missing tap", []string{"--net:service0=rnctapnope0", filepath.Join(tests, "net.spt")}, "no such interface"},
		{"offload for old guest", []string{"--net:service0=rnctapnope0", "--net-offload:service0", oldGuest}, "do not support offload"},
		{"offload with a value", []string{"--net:service0=rnctapnope0", "--net-offload:service0=on", filepath.Join(tests, "net.spt")}, "takes no value"},
		{"offload for no device", []string{"--net:service0=rnctapnope0", "--net-offload:other", filepath.Join(tests, "net.spt")}, "other"},
		{"two devices on one fd", []string{"--net:service0=@3", "--net:service1=@3", filepath.Join(tests, "net.spt")}, "--net:service1=@3: fd 3 is already device service0's tap"},
		{"multicast MAC", []string{"--net:service0=@3", "--net-mac:service0=01:00:5e:00:00:01", filepath.Join(tests, "net.spt")}, "--net-mac:service0=01:00:5e:00:00:01: a multicast address cannot be a guest's MAC"},
		{"mem too large", []string{"--mem=65537", filepath.Join(tests, "net.spt")}, "--mem=65537: want a size in MiB from 2 to 65536"},
		{"stdio as tap", []string{"--net:service0=@1", filepath.Join(tests, "net.spt")}, "3 or more"},
		{"sector size not a power of two", []string{"--block:storage=" + odd, "--block-sector-size:storage=1000", filepath.Join(tests, "blk.spt")}, "--block-sector-size:storage=1000: want a power of two from 512"},
		{"sector size too small", []string{"--block:storage=" + odd, "--block-sector-size:storage=256", filepath.Join(tests, "blk.spt")}, "--block-sector-size:storage=256: want a power of two from 512"},
		{"sector size zero", []string{"--block:storage=" + odd, "--block-sector-size:storage=0", filepath.Join(tests, "blk.spt")}, "want a power of two"},
		{"sector size too large", []string{"--block:storage=" + odd, "--block-sector-size:storage=2097152", filepath.Join(tests, "blk.spt")}, "want a power of two"},
		{"sector size not a number", []string{"--block:storage=" + odd, "--block-sector-size:storage=4k", filepath.Join(tests, "blk.spt")}, "want a power of two"},
		{"sector size twice", []string{"--block:storage=" + odd, "--block-sector-size:storage=4096", "--block-sector-size:storage=4096", filepath.Join(tests, "blk.spt")}, "given twice"},
		{"file not a multiple of the sector size", []string{"--block:storage=" + odd, "--block-sector-size:storage=4096", filepath.Join(tests, "blk.spt")}, "size 1049088 is not a positive multiple of the block size 4096"},
		{"sector size for no device", []string{"--block:storage=" + odd, "--block-sector-size:other=4096", filepath.Join(tests, "blk.spt")}, `"other"`},
		{"block twice", []string{"--block:storage=" + odd, "--block-ro:storage=" + odd, filepath.Join(tests, "blk.spt")}, "given twice"},
	}
	for _, c := range cases {
		out, err := exec.Command(spt, c.args...).CombinedOutput()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 1 {
			t.Errorf("%s: exit %v, want status 1\n%s", c.name, err, out)
			continue
		}
		s := strings.TrimSuffix(string(out), "\n")
		if c.name == "host program" {
			c.want = "no RUNNC ABI note" // a host binary is static or dynamic; either way refused
			if !strings.Contains(s, c.want) && !strings.Contains(s, "dynamically linked") && !strings.Contains(s, "ET_DYN") {
				t.Errorf("%s: %q does not explain the refusal", c.name, s)
			}
		} else if !strings.Contains(s, c.want) {
			t.Errorf("%s: %q does not contain %q", c.name, s, c.want)
		}
		if strings.Contains(s, "\n") || !strings.HasPrefix(s, "runnc-spt: ") {
			t.Errorf("%s: want one line starting runnc-spt:, got %q", c.name, s)
		}
	}
}

// A crashing guest leaves no core file of its memory behind, whatever the
// caller's core limit: the loader sets RLIMIT_CORE to 0 (core_pattern may
// pipe a dump to a program, which no file in the working directory would
// show), and a crash started with an unlimited one leaves nothing here.
func TestCrashDumpsNoCore(t *testing.T) {
	spt, _ := filepath.Abs("../../build/bin/runnc-spt")
	guest, _ := filepath.Abs("../../build/unikernels/tests/exception.spt")
	sleeper, _ := filepath.Abs("../../build/unikernels/tests/time.spt")
	if _, err := os.Stat(guest); err != nil {
		t.Skip("guests not built: run make")
	}

	t.Run("limit", func(t *testing.T) {
		var out bytes.Buffer
		cmd := exec.Command("bash", "-c", `ulimit -c unlimited && exec "$0" --mem=16 "$1" forever`, spt, sleeper)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		defer func() {
			cmd.Process.Kill()
			<-done
		}()
		// The guest runs once its process is under the filter.
		pid := cmd.Process.Pid
		deadline := time.After(20 * time.Second)
		for {
			status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(status), "\nSeccomp:\t2\n") {
				break
			}
			select {
			case err := <-done:
				done <- err
				t.Fatalf("the sleeping guest ended: %v\n%s", err, out.String())
			case <-deadline:
				t.Fatalf("guest not under its filter after 20 s:\n%s", status)
			case <-time.After(5 * time.Millisecond):
			}
		}
		limits, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`(?m)^Max core file size +0 +0 +bytes *$`).Match(limits) {
			t.Errorf("running guest started with ulimit -c unlimited: want \"Max core file size 0 0\" in /proc/%d/limits:\n%s", pid, limits)
		}
	})

	t.Run("crash", func(t *testing.T) {
		dir := t.TempDir()
		cmd := exec.Command("bash", "-c", `ulimit -c unlimited && exec "$0" --mem=16 "$1"`, spt, guest)
		cmd.Dir = dir
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != -1 {
			t.Fatalf("exception guest: %v, want death by signal", err)
		}
		if files, _ := os.ReadDir(dir); len(files) != 0 {
			t.Fatalf("crash left %d files in the working directory, e.g. %s", len(files), files[0].Name())
		}
	})
}

// A KERNEL that is not a regular file, or larger than guest memory, is
// refused before it is read; one that fits is read only as far as the
// checks need. Memory stays bounded either way (max RSS from rusage;
// reading /dev/zero or the 2 GiB file whole would take gigabytes).
func TestHugeKernel(t *testing.T) {
	spt, _ := filepath.Abs("../../build/bin/runnc-spt")
	if _, err := os.Stat(spt); err != nil {
		t.Skip("tender not built: run make")
	}
	dir := t.TempDir()
	sparse := filepath.Join(dir, "huge.spt")
	f, err := os.Create(sparse)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(2 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	fifo := filepath.Join(dir, "fifo.spt")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	const maxRSSKiB = 64 << 10
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"/dev/zero", []string{"/dev/zero"}, "/dev/zero: not a regular file"},
		{"a FIFO", []string{fifo}, "not a regular file"},
		{"a directory", []string{dir}, "not a regular file"},
		{"2 GiB, more than guest memory", []string{sparse}, "2048 MiB, larger than guest memory (512 MiB)"},
		{"2 GiB of zeros within guest memory", []string{"--mem=4096", sparse}, "not an ELF file"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, spt, c.args...)
		out, err := cmd.CombinedOutput()
		timedOut := ctx.Err() != nil
		cancel()
		if timedOut {
			t.Errorf("%s: still running after a minute", c.name)
			continue
		}
		s := strings.TrimSuffix(string(out), "\n")
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || strings.Contains(s, "\n") || !strings.Contains(s, c.want) {
			t.Errorf("%s: %v, %q; want exit status 1 and one line containing %q", c.name, err, s, c.want)
		}
		rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
		t.Logf("%s: max RSS %d KiB", c.name, rss)
		if rss > maxRSSKiB {
			t.Errorf("%s: max RSS %d KiB, want at most %d KiB", c.name, rss, maxRSSKiB)
		}
	}
}
