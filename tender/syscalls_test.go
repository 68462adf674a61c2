package tender

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/runnc/runnc/hap"
)

// unixSyscalls is golang.org/x/sys/unix's number of every call the tender,
// the bindings, the loader stub and the test guests name. A name missing
// here fails the test: add it, so the compiler checks its constant.
var unixSyscalls = map[string]int{
	"read": unix.SYS_READ, "write": unix.SYS_WRITE, "close": unix.SYS_CLOSE,
	"mmap": unix.SYS_MMAP, "mprotect": unix.SYS_MPROTECT, "munmap": unix.SYS_MUNMAP,
	"rt_sigaction": unix.SYS_RT_SIGACTION, "rt_sigprocmask": unix.SYS_RT_SIGPROCMASK,
	"pread64": unix.SYS_PREAD64, "pwrite64": unix.SYS_PWRITE64,
	"prctl": unix.SYS_PRCTL, "arch_prctl": unix.SYS_ARCH_PRCTL,
	"clock_gettime": unix.SYS_CLOCK_GETTIME, "exit_group": unix.SYS_EXIT_GROUP,
	"ppoll": unix.SYS_PPOLL, "prlimit64": unix.SYS_PRLIMIT64,
	"seccomp": unix.SYS_SECCOMP, "close_range": unix.SYS_CLOSE_RANGE,
	"getrandom": unix.SYS_GETRANDOM, "exit": unix.SYS_EXIT,
	"madvise": unix.SYS_MADVISE,
}

// checkSyscall compares one (name, number) a source gives with
// x/sys/unix and with hap's table (from the kernel's syscall_64.tbl).
func checkSyscall(t *testing.T, where, name string, nr int) {
	t.Helper()
	want, ok := unixSyscalls[name]
	if !ok {
		t.Errorf("%s: SYS_%s: not in this test's table of x/sys/unix constants; add it", where, name)
		return
	}
	if nr != want {
		t.Errorf("%s: SYS_%s is %d, x/sys/unix says %d", where, name, nr, want)
	}
	if h := hap.SyscallName(nr); h != name {
		t.Errorf("%s: SYS_%s is %d, which hap's x86_64 table calls %q", where, name, nr, h)
	}
}

// The system call numbers the filter allows and the C code uses are
// x86_64's: the policy table, the bindings' spt.h, the loader stub and the
// syscall test guest, each checked against x/sys/unix and hap's table.
func TestSyscallNumbers(t *testing.T) {
	for _, c := range calls {
		checkSyscall(t, "tender/policy.go", c.Name, int(c.Nr))
	}
	define := regexp.MustCompile(`(?m)^#define SYS_(\w+)\s+(\d+)\s*$`)
	for _, rel := range []string{
		"solo5/bindings/spt/spt.h",
		"tender/stub/stub.c",
		"unikernels/tests/syscall/syscall.c",
	} {
		src, err := os.ReadFile(filepath.Join("..", rel))
		if err != nil {
			t.Fatal(err)
		}
		m := define.FindAllStringSubmatch(string(src), -1)
		if len(m) == 0 {
			t.Errorf("%s: no #define SYS_name number lines", rel)
		}
		for _, d := range m {
			nr, _ := strconv.Atoi(d[2])
			checkSyscall(t, rel, d[1], nr)
		}
	}
}

// The loader's other constants that reach the kernel: checked against
// x/sys/unix like the call numbers.
func TestStubConstants(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "tender/stub/stub.c"))
	if err != nil {
		t.Fatal(err)
	}
	define := regexp.MustCompile(`(?m)^#define (\w+)\s+(0x[0-9a-fA-F]+|\d+)\s*$`)
	want := map[string]int{
		"PROT_READ": unix.PROT_READ, "PROT_WRITE": unix.PROT_WRITE, "PROT_EXEC": unix.PROT_EXEC,
		"MAP_SHARED": unix.MAP_SHARED, "MAP_PRIVATE": unix.MAP_PRIVATE, "MAP_ANONYMOUS": unix.MAP_ANONYMOUS,
		"MAP_FIXED_NOREPLACE": unix.MAP_FIXED_NOREPLACE, "MADV_POPULATE_WRITE": unix.MADV_POPULATE_WRITE,
		"PR_SET_NAME": unix.PR_SET_NAME, "PR_SET_NO_NEW_PRIVS": unix.PR_SET_NO_NEW_PRIVS,
		"SECCOMP_SET_MODE_FILTER": unix.SECCOMP_SET_MODE_FILTER,
	}
	seen := map[string]bool{}
	for _, d := range define.FindAllStringSubmatch(string(src), -1) {
		w, ok := want[d[1]]
		if !ok {
			continue
		}
		seen[d[1]] = true
		v, err := strconv.ParseInt(d[2], 0, 64)
		if err != nil || int(v) != w {
			t.Errorf("tender/stub/stub.c: %s is %s, x/sys/unix says %#x", d[1], d[2], w)
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("tender/stub/stub.c: no #define %s", name)
		}
	}
}
