//go:build engines

package engines

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runnc/runnc/image"
	"github.com/runnc/runnc/integration/hostkit"
	"github.com/runnc/runnc/tender"
)

// TestDockerInfo: dockerd took the README's daemon.json, so `docker info`
// lists runnc at the installed path.
func TestDockerInfo(t *testing.T) {
	needEngines(t)
	var rts map[string]struct{ Path string }
	if err := json.Unmarshal([]byte(dockerOK(t, "info", "--format", "{{json .Runtimes}}")), &rts); err != nil {
		t.Fatal(err)
	}
	if rts["runnc"].Path != runncBin {
		t.Fatalf("docker info runtimes: %v, want runnc at %s", rts, runncBin)
	}
}

// TestDockerRuncPeer: the daemon runs an ordinary container under runc,
// so a runnc failure below is runnc's, not the harness's.
func TestDockerRuncPeer(t *testing.T) {
	needEngines(t)
	if got := dockerOK(t, "run", "--rm", "--runtime=runc", "runnc/busybox", "echo", "hi"); got != "hi" {
		t.Fatalf("busybox echo under runc printed %q", got)
	}
	err := dockerCmd("run", "--rm", "--runtime=runc", "runnc/busybox", "sh", "-c", "exit 7").Run()
	if hostkit.ExitCode(err) != 7 {
		t.Fatalf("exit status %d (%v), want 7", hostkit.ExitCode(err), err)
	}
}

// TestDockerHello: output and exit status reach docker's caller; abort is 255.
func TestDockerHello(t *testing.T) {
	needRunnc(t)
	out, err := hostkit.RunTimeout(time.Minute, dockerCmd("run", "--rm", "--runtime=runnc", "runnc/hello"))
	if err != nil {
		t.Fatalf("docker run hello: %v\n%s", err, out)
	}
	// The image's Cmd ends the guest's command line (runnc puts the
	// environment before it, as --env= words for libos).
	for _, want := range []string{"Hello, World", "hello from runnc'", "SUCCESS"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, err = hostkit.RunTimeout(time.Minute, dockerCmd("run", "--rm", "--runtime=runnc", "runnc/abort"))
	if hostkit.ExitCode(err) != 255 {
		t.Fatalf("docker run abort: exit %d (%v), want 255\n%s", hostkit.ExitCode(err), err, out)
	}
}

// TestDockerTTY: `docker run -t` gives the guest a pty: its newlines come
// back as CRLF, which only the pty's line discipline adds.
func TestDockerTTY(t *testing.T) {
	needRunnc(t)
	out, err := hostkit.RunTimeout(time.Minute, dockerCmd("run", "--rm", "-t", "--runtime=runnc", "runnc/hello"))
	if err != nil {
		t.Fatalf("docker run -t hello: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Hello, World\r\n") {
		t.Fatalf("no CRLF from a pty in the output: %q", out)
	}
}

// runKV starts kv detached under runnc with extra docker flags and returns
// its id; it is removed when the test ends.
func runKV(t *testing.T, flags ...string) string {
	t.Helper()
	args := append([]string{"run", "-d", "--runtime=runnc"}, flags...)
	id := dockerOK(t, append(args, "runnc/kv")...)
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := dockerCmd("logs", id).CombinedOutput()
			t.Logf("kv console:\n%s", out)
		}
		dockerCmd("rm", "-f", id).Run()
	})
	return id
}

func containerIP(t *testing.T, id string) string {
	t.Helper()
	ip := dockerOK(t, "inspect", "-f", "{{.NetworkSettings.IPAddress}}", id)
	if net.ParseIP(ip) == nil {
		t.Fatalf("container %s has no IP (%q)", id, ip)
	}
	return ip
}

// freePort is a TCP port nothing on the host listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	port, err := hostkit.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func redisCLI(t *testing.T, host string, port int, args ...string) string {
	t.Helper()
	out, err := hostkit.RunTimeout(30*time.Second, exec.Command("redis-cli", append([]string{"-h", host, "-p", strconv.Itoa(port)}, args...)...))
	if err != nil {
		t.Fatalf("redis-cli %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(out)
}

// TestDockerKV: a published port reaches the guest; redis-benchmark runs
// through it; logs show the console; stop is fast and the exit code shows.
func TestDockerKV(t *testing.T) {
	needRunnc(t)
	port := freePort(t)
	id := runKV(t, "-p", fmt.Sprintf("127.0.0.1:%d:6379", port))
	if err := hostkit.WaitTCP(fmt.Sprintf("127.0.0.1:%d", port), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := redisCLI(t, "127.0.0.1", port, "PING"); got != "PONG" {
		t.Fatalf("PING: %q", got)
	}
	redisCLI(t, "127.0.0.1", port, "SET", "engine", "docker")
	if got := redisCLI(t, "127.0.0.1", port, "GET", "engine"); got != "docker" {
		t.Fatalf("GET: %q", got)
	}
	out, err := hostkit.RunTimeout(2*time.Minute, exec.Command("redis-benchmark", "-h", "127.0.0.1", "-p", strconv.Itoa(port),
		"-q", "-n", "10000", "-t", "set,get"))
	if err != nil || !strings.Contains(out, "SET:") || !strings.Contains(out, "GET:") || strings.Contains(strings.ToLower(out), "error") {
		t.Fatalf("redis-benchmark: %v\n%s", err, out)
	}
	t.Logf("redis-benchmark through -p %d: %s", port, strings.Join(strings.Fields(out), " "))

	if logs := dockerOK(t, "logs", id); !strings.Contains(logs, "kv: ready") {
		t.Fatalf("docker logs lacks the guest console:\n%s", logs)
	}

	start := time.Now()
	dockerOK(t, "stop", id)
	took := time.Since(start)
	t.Logf("docker stop took %v", took)
	// Loose on purpose (timings belong to make bench): the failure this
	// catches is a guest that ignores SIGTERM, which docker ends with
	// SIGKILL after 10 s.
	if took > 5*time.Second {
		t.Errorf("docker stop took %v; the guest ignored SIGTERM", took)
	}
	// The guest has no handlers: it ends as if killed by the signal,
	// SIGTERM (143) or the SIGKILL runnc may turn it into (137).
	state := dockerOK(t, "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", id)
	if state != "exited 143" && state != "exited 137" {
		t.Errorf("after docker stop: %q, want exited 143 or 137 (128+SIGTERM or SIGKILL)", state)
	}
	t.Logf("after docker stop: %s", state)
}

// TestDockerKill: docker kill (SIGKILL) ends the guest.
func TestDockerKill(t *testing.T) {
	needRunnc(t)
	id := runKV(t)
	if err := hostkit.WaitTCP(containerIP(t, id)+":6379", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	dockerOK(t, "kill", id)
	if got := dockerOK(t, "wait", id); got != "137" {
		t.Fatalf("docker wait after kill: %q, want 137", got)
	}
}

// TestDockerMemory: -m 64m bounds the guest's heap (kv reports it as
// total_system_memory) and the cgroup; without -m the guest gets more.
func TestDockerMemory(t *testing.T) {
	needRunnc(t)
	heap := func(id string) int {
		ip := containerIP(t, id)
		if err := hostkit.WaitTCP(ip+":6379", 30*time.Second); err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`total_system_memory:(\d+)`).FindStringSubmatch(redisCLI(t, ip, 6379, "INFO", "memory"))
		if m == nil {
			t.Fatal("INFO memory has no total_system_memory")
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	limited := runKV(t, "-m", "64m")
	got := heap(limited)
	t.Logf("guest heap with -m 64m: %d bytes", got)
	if got <= 0 || got > 64<<20 {
		t.Errorf("guest heap %d bytes with -m 64m", got)
	}
	cg := dockerOK(t, "inspect", "-f", "{{.HostConfig.Memory}}", limited)
	if cg != strconv.Itoa(64<<20) {
		t.Errorf("HostConfig.Memory %s", cg)
	}
	if def := heap(runKV(t)); def <= got {
		t.Errorf("guest heap without -m (%d) not above the one with -m 64m (%d)", def, got)
	}
}

// TestDockerHTTPD: httpd serves its image's files on the container's
// address; the 16 MiB file arrives byte-identical.
func TestDockerHTTPD(t *testing.T) {
	needRunnc(t)
	id := dockerOK(t, "run", "-d", "--runtime=runnc", "runnc/httpd")
	t.Cleanup(func() { dockerCmd("rm", "-f", id).Run() })
	ip := containerIP(t, id)
	if err := hostkit.WaitTCP(ip+":80", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	got := filepath.Join(t.TempDir(), "big.bin")
	if out, err := hostkit.RunTimeout(2*time.Minute, exec.Command("curl", "-sSf", "-o", got, "http://"+ip+"/big.bin")); err != nil {
		t.Fatalf("curl: %v\n%s", err, out)
	}
	want, err := os.ReadFile(filepath.Join(images, "site", "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(got)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 16<<20 || !bytes.Equal(body, want) {
		t.Fatalf("big.bin: got %d bytes, want the %d of build/images/site/big.bin", len(body), len(want))
	}
}

// TestDockerRmLeavesNothing: run, stop and rm a kv container; the host
// has no new link, netns, mount, cgroup, runtime state or process.
func TestDockerRmLeavesNothing(t *testing.T) {
	needRunnc(t)
	before := snapshot()
	id := dockerOK(t, "run", "-d", "--runtime=runnc", "runnc/kv")
	if err := hostkit.WaitTCP(containerIP(t, id)+":6379", 30*time.Second); err != nil {
		dockerCmd("rm", "-f", id).Run()
		t.Fatal(err)
	}
	dockerOK(t, "rm", "-f", id)
	var leaks []string
	for i := 0; i < 50; i++ { // dockerd finishes some cleanup after rm returns
		if leaks = snapshot().Since(before); len(leaks) == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(leaks) > 0 {
		t.Fatalf("docker rm left:\n%s", strings.Join(leaks, "\n"))
	}
	if ents, _ := os.ReadDir(filepath.Join(work, "dx", "runtime-runnc", "moby")); len(ents) > 0 {
		t.Fatalf("runnc state left in the exec root: %v", ents)
	}
}

// runncReason is the one line runnc itself prints when `runnc create`
// is given a bundle whose rootfs holds files and whose process.args are
// args: the reason the engines must pass on to their users.
func runncReason(t *testing.T, files []image.File, args ...string) string {
	t.Helper()
	reason, err := hostkit.RunncReason(runncBin, t.TempDir(), files, args...)
	if err != nil {
		t.Fatal(err)
	}
	return reason
}

// busyboxReason is runnc's refusal of busybox's echo as an entrypoint.
func busyboxReason(t *testing.T) string {
	return runncReason(t, hostkit.BusyboxFiles, hostkit.BusyboxArgs...)
}

// corruptImage writes the archive of an image whose entrypoint is hello
// with its program headers cut off, and returns runnc's own refusal of
// that file, which the engine must show.
func corruptImage(t *testing.T, ref string) (archive, reason string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repo, "build", "unikernels", "tests", "hello.spt"))
	if err != nil {
		t.Fatal(err)
	}
	data = data[:100] // the ELF header survives, the program headers do not
	if _, err := tender.CheckELF(data, 1<<30); err == nil {
		t.Fatal("the cut hello.spt passes the tender's checks")
	}
	files := []image.File{{Path: "/hello.spt", Data: data, Mode: 0o755}}
	img, err := image.New(files, image.Config{Entrypoint: []string{"/hello.spt"}, Labels: map[string]string{image.LabelUnikernel: "true"}})
	if err != nil {
		t.Fatal(err)
	}
	archive = filepath.Join(t.TempDir(), "corrupt.tar")
	if err := image.WriteArchive(archive, ref, img); err != nil {
		t.Fatal(err)
	}
	return archive, runncReason(t, files, "/hello.spt")
}

// TestDockerErrors: the runtime's one-line reason reaches the docker user
// for an image that is no unikernel and for a corrupt unikernel.
func TestDockerErrors(t *testing.T) {
	needRunnc(t)
	reason := busyboxReason(t)
	out, err := hostkit.RunTimeout(time.Minute, dockerCmd("run", "--rm", "--runtime=runnc", "runnc/busybox", "echo", "hi"))
	if err == nil || !strings.Contains(out, reason) {
		t.Errorf("busybox under runnc: %v, want runnc's reason %q:\n%s", err, reason, out)
	}
	archive, reason := corruptImage(t, "runnc/corrupt:latest")
	dockerOK(t, "load", "-i", archive)
	t.Cleanup(func() { dockerCmd("rmi", "-f", "runnc/corrupt").Run() })
	out, err = hostkit.RunTimeout(time.Minute, dockerCmd("run", "--rm", "--runtime=runnc", "runnc/corrupt"))
	if err == nil || !strings.Contains(out, reason) {
		t.Errorf("corrupt unikernel under runnc: %v, want runnc's reason %q:\n%s", err, reason, out)
	}
}
