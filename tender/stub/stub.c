/*
 * The loader stub: what runnc-spt execs into, so that no Go runtime (no
 * threads, no signal handlers, no heap) is left in the guest's process.
 *
 * It reads the plan from the fd named by argv[1], maps guest memory from
 * the plan's memfd, applies W^X protections, closes every other fd, resets
 * signals, turns core dumps off, and then leaves nothing of the process
 * but guest memory: it moves to a stack of its own, copies its last step
 * to a fresh page, and unmaps everything else (the kernel's stack, vDSO
 * and vvar, any heap). The last step unmaps the loader itself, installs
 * the seccomp filter and jumps to the guest; its one page of code is all
 * that stays, since after the filter no call can unmap it.
 *
 * Every call before the jump is checked: a failure prints one line naming
 * the step and exits with the step's status (plan.h), never entering the
 * guest. Freestanding, static, linked far above guest memory; a few KB.
 */
#include "plan.h"

#define SYS_read            0
#define SYS_write           1
#define SYS_close           3
#define SYS_mmap            9
#define SYS_mprotect        10
#define SYS_munmap          11
#define SYS_rt_sigaction    13
#define SYS_rt_sigprocmask  14
#define SYS_madvise         28
#define SYS_prctl           157
#define SYS_exit_group      231
#define SYS_prlimit64       302
#define SYS_seccomp         317
#define SYS_close_range     436

#define PROT_READ           1
#define PROT_WRITE          2
#define PROT_EXEC           4
#define MAP_SHARED          0x01
#define MAP_PRIVATE         0x02
#define MAP_ANONYMOUS       0x20
#define MAP_FIXED_NOREPLACE 0x100000
#define MADV_POPULATE_WRITE 23
#define PR_SET_NAME         15
#define PR_SET_NO_NEW_PRIVS 38
#define SECCOMP_SET_MODE_FILTER 1
#define EPERM               1
#define EINVAL              22
#define PAGE                4096UL
/* The end of user space with 4-level page tables; with 5-level ones the
 * kernel maps nothing above it unless asked to. */
#define USER_END_47         0x7ffffffff000UL
#define USER_END_56         0xfffffffffff000UL

#define STR2(x) #x
#define STR(x) STR2(x)

static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ __volatile__("syscall"
            : "=a"(ret)
            : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
            : "rcx", "r11", "memory");
    return ret;
}
#define sys(n, a, b, c) sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)

static struct plan plan;
/* The stack the loader moves to before it unmaps the kernel's. */
static char stack[16384] __attribute__((aligned(16)));
/* The loader's own extent (the linker's symbols). */
extern char __executable_start[], _end[];

static void say(const char *s)
{
    long n = 0;
    while (s[n])
        n++;
    sys(SYS_write, 2, s, n);
}

__attribute__((noreturn)) static void fail(const char *what, long err, int status)
{
    char num[24];
    int i = sizeof(num) - 1;
    num[i] = 0;
    unsigned long e = (unsigned long)-err;
    do {
        num[--i] = (char)('0' + e % 10);
        e /= 10;
    } while (e && i > 0);
    say("runnc-spt: loader: ");
    say(what);
    say(": errno ");
    say(&num[i]);
    say("\n");
    for (;;)
        sys(SYS_exit_group, status, 0, 0);
}

/* A system call that must succeed: anything but 0 fails the loader. */
static void must(long r, const char *what, int status)
{
    if (r != 0)
        fail(what, r < 0 ? r : -EINVAL, status);
}

struct kernel_sigaction {
    void *handler;
    unsigned long flags;
    void *restorer;
    unsigned long mask;
};

struct sock_fprog {
    unsigned short len;
    const struct plan_insn *filter;
};

/*
 * The last step, position-independent, copied to a page of its own and
 * entered with
 *   %rdi, %rsi  the loader's extent, to unmap
 *   %rdx        the struct sock_fprog (a copy in guest memory)
 *   %r8, %r9    that copy's extent, to clear once the kernel has it
 *   %r12 %r13 %r15  the guest's %rsp, %rdi and entry point
 * It needs no stack. A failure writes a line and exits with its status.
 */
extern const char last_step[], last_step_end[];
__asm__(
    ".pushsection .rodata.last_step, \"a\"\n"
    "last_step:\n"
    "    mov $" STR(SYS_munmap) ", %eax\n"
    "    syscall\n"
    "    test %rax, %rax\n"
    "    jnz 1f\n"
    "    mov $" STR(SYS_seccomp) ", %eax\n"
    "    mov $" STR(SECCOMP_SET_MODE_FILTER) ", %edi\n"
    "    xor %esi, %esi\n"
    "    syscall\n"
    "    test %rax, %rax\n"
    "    jnz 2f\n"
    /* From here on only the seven calls work. Clear the filter's copy,
     * then enter the guest with a clean register file. */
    "    mov %r8, %rdi\n"
    "    mov %r9, %rcx\n"
    "    xor %eax, %eax\n"
    "    cld\n"
    "    rep stosb\n"
    "    mov %r12, %rsp\n"
    "    mov %r13, %rdi\n"
    "    mov %r15, %r11\n"
    "    xor %ebx, %ebx\n"
    "    xor %ecx, %ecx\n"
    "    xor %edx, %edx\n"
    "    xor %esi, %esi\n"
    "    xor %ebp, %ebp\n"
    "    xor %r8d, %r8d\n"
    "    xor %r9d, %r9d\n"
    "    xor %r10d, %r10d\n"
    "    xor %r12d, %r12d\n"
    "    xor %r13d, %r13d\n"
    "    xor %r14d, %r14d\n"
    "    xor %r15d, %r15d\n"
    "    jmp *%r11\n"
    "1:  lea 4f(%rip), %rsi\n"
    "    mov $(5f - 4f), %edx\n"
    "    mov $" STR(LOADER_UNMAP_LOADER) ", %ebx\n"
    "    jmp 3f\n"
    "2:  lea 5f(%rip), %rsi\n"
    "    mov $(6f - 5f), %edx\n"
    "    mov $" STR(LOADER_SECCOMP) ", %ebx\n"
    "3:  mov $" STR(SYS_write) ", %eax\n"
    "    mov $2, %edi\n"
    "    syscall\n"
    "    mov $" STR(SYS_exit_group) ", %eax\n"
    "    mov %ebx, %edi\n"
    "    syscall\n"
    "    ud2\n"
    "4:  .ascii \"runnc-spt: loader: unmap the loader: failed\\n\"\n"
    "5:  .ascii \"runnc-spt: loader: install seccomp filter: failed\\n\"\n"
    "6:\n"
    "last_step_end:\n"
    ".popsection\n");

static unsigned long page_up(unsigned long a) { return (a + PAGE - 1) & ~(PAGE - 1); }

/* Unmaps [lo, hi). Kernels built with CONFIG_MSEAL_SYSTEM_MAPPINGS seal
 * the vDSO and vvar (mseal): munmap of a range holding a sealed page
 * unmaps nothing of it and fails with EPERM. Such a range is split, and
 * the sealed pages alone stay (the README lists them); any other failure
 * fails the loader. */
static void unmap_range(unsigned long lo, unsigned long hi)
{
    long r = sys(SYS_munmap, lo, hi - lo, 0);
    if (r != -EPERM) {
        must(r, "unmap the process's other mappings", LOADER_UNMAP);
        return;
    }
    if (hi - lo == PAGE)
        return;         /* a sealed page */
    unsigned long mid = lo + (((hi - lo) / 2) & ~(PAGE - 1));
    unmap_range(lo, mid);
    unmap_range(mid, hi);
}

/* Unmaps the hole [lo, hi), if any; the end of user space may be the
 * 47-bit or the 56-bit one. */
static void unmap_hole(unsigned long lo, unsigned long hi)
{
    if (hi <= lo)
        return;
    if (hi == USER_END_56 && sys(SYS_munmap, lo, hi - lo, 0) == -EINVAL)
        hi = USER_END_47;
    unmap_range(lo, hi);
}

/* Runs on the loader's own stack: leaves guest memory, the loader and the
 * last step's page, and hands over to the last step. */
__attribute__((noreturn, used)) void stage2(void)
{
    unsigned long step_len = (unsigned long)(last_step_end - last_step);
    long r = sys6(SYS_mmap, 0, PAGE, PROT_READ | PROT_WRITE,
            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (r < 0 || (unsigned long)r % PAGE != 0)
        fail("map the last step", r < 0 ? r : -EINVAL, LOADER_MAP_LAST_STEP);
    char *step = (char *)r;
    for (unsigned long i = 0; i < step_len; i++)
        step[i] = last_step[i];
    must(sys(SYS_mprotect, step, PAGE, PROT_READ | PROT_EXEC),
            "protect the last step", LOADER_MAP_LAST_STEP);

    /* The filter goes where the guest's stack will be: the loader is
     * unmapped before the filter is installed, and the last step clears
     * the copy once the kernel has its own. */
    unsigned long flen = plan.filter_len * sizeof(struct plan_insn);
    unsigned long copy = (plan.stack_top - flen - sizeof(struct sock_fprog)) & ~15UL;
    struct sock_fprog *prog = (struct sock_fprog *)copy;
    struct plan_insn *insns = (struct plan_insn *)(copy + sizeof *prog);
    for (unsigned i = 0; i < plan.filter_len; i++)
        insns[i] = plan.filter[i];
    prog->len = (unsigned short)plan.filter_len;
    prog->filter = insns;

    /* Keep guest memory, the loader and the last step; unmap the holes. */
    unsigned long keep[3][2] = {
        { plan.mem_start, plan.mem_end },
        { (unsigned long)__executable_start, page_up((unsigned long)_end) },
        { (unsigned long)step, (unsigned long)step + PAGE },
    };
    for (int i = 1; i < 3; i++)         /* sort by start */
        for (int j = i; j > 0 && keep[j][0] < keep[j - 1][0]; j--) {
            unsigned long a = keep[j][0], b = keep[j][1];
            keep[j][0] = keep[j - 1][0], keep[j][1] = keep[j - 1][1];
            keep[j - 1][0] = a, keep[j - 1][1] = b;
        }
    unsigned long next = 0;
    for (int i = 0; i < 3; i++) {
        unmap_hole(next, keep[i][0]);
        next = keep[i][1];
    }
    unmap_hole(next, USER_END_56);

    register unsigned long r8 __asm__("r8") = copy;
    register unsigned long r9 __asm__("r9") = plan.stack_top - copy;
    register unsigned long r12 __asm__("r12") = plan.stack_top;
    register unsigned long r13 __asm__("r13") = plan.boot_info;
    register unsigned long r15 __asm__("r15") = plan.entry;
    __asm__ __volatile__("jmp *%[step]"
            :
            : [step] "a"(step), "D"(__executable_start),
              "S"(page_up((unsigned long)_end) - (unsigned long)__executable_start),
              "d"(prog), "r"(r8), "r"(r9), "r"(r12), "r"(r13), "r"(r15)
            : "memory");
    __builtin_unreachable();
}

/* The plan is the tender's, but the loader checks what its own safety
 * rests on: every address it maps, protects or writes is guest memory. */
static int plan_ok(void)
{
    unsigned long lo = plan.mem_start, hi = plan.mem_end;
    if (plan.magic != PLAN_MAGIC || plan.nregions > PLAN_MAX_REGIONS ||
            plan.nkeep > PLAN_MAX_KEEP || plan.filter_len == 0 ||
            plan.filter_len > PLAN_MAX_FILTER ||
            (plan.flags & ~PLAN_PREFAULT) != 0 || plan.reserved != 0)
        return 0;
    if (lo % PAGE || hi % PAGE || lo == 0 || hi <= lo ||
            hi > (unsigned long)__executable_start)
        return 0;
    if (plan.entry < lo || plan.entry >= hi || plan.boot_info < lo ||
            plan.boot_info >= hi || plan.stack_top % 16 ||
            plan.stack_top > hi || plan.stack_top < lo + PAGE + 8 * PLAN_MAX_FILTER)
        return 0;
    for (unsigned i = 0; i < plan.nregions; i++) {
        const struct plan_region *g = &plan.regions[i];
        if (g->addr < lo || g->addr >= hi || g->len > hi - g->addr ||
                (g->prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) != 0 ||
                ((g->prot & PROT_WRITE) && (g->prot & PROT_EXEC)))
            return 0;
    }
    /* Ascending (two devices may share an fd), as the close loop needs. */
    for (unsigned i = 0; i < plan.nkeep; i++)
        if (plan.keep[i] < 0 || (i > 0 && plan.keep[i] < plan.keep[i - 1]))
            return 0;
    return 1;
}

__attribute__((noreturn, used)) void stub_main(long *sp)
{
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    long r;

    int plan_fd = 0;
    const char *p = argc == 2 ? argv[1] : "";
    if (*p == '\0')
        fail("usage: runnc-spt PLAN-FD (the tender execs the loader)", -EINVAL, LOADER_USAGE);
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || plan_fd > 100000)
            fail("usage: runnc-spt PLAN-FD (the tender execs the loader)", -EINVAL, LOADER_USAGE);
        plan_fd = plan_fd * 10 + (*p - '0');
    }

    char *dst = (char *)&plan;
    unsigned long got = 0;
    while (got < sizeof(plan)) {
        r = sys(SYS_read, plan_fd, dst + got, sizeof(plan) - got);
        if (r < 0)
            fail("read plan", r, LOADER_READ_PLAN);
        if (r == 0)
            break;
        got += (unsigned long)r;
    }
    if (got != sizeof(plan) || !plan_ok())
        fail("bad plan", -EINVAL, LOADER_BAD_PLAN);
    must(sys(SYS_close, plan_fd, 0, 0), "close plan", LOADER_CLOSE_PLAN);

    /* Shared: the memfd is ours alone, and a private mapping would hold
     * every page the guest writes twice (the memfd's page, which even a
     * read fault allocates, and the copy), doubling the guest's memory
     * against a container's limit. */
    r = sys6(SYS_mmap, (long)plan.mem_start, (long)(plan.mem_end - plan.mem_start),
            PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE,
            plan.mem_fd, (long)plan.mem_start);
    if (r != (long)plan.mem_start)
        fail("map guest memory", r < 0 ? r : -17, LOADER_MAP_GUEST);
    /* --mem-prefault: every page of guest memory allocated, charged and
     * mapped writable now, while the loader may still make any call, so
     * the guest never takes a page fault on its memory: the host's fault
     * path (shmem_fault, the memcg charge, a shared file's dirty
     * accounting) leaves its attack profile. Before the mprotects: a write
     * populate fails on pages that are no longer writable. EINVAL before
     * Linux 5.14; a memory cgroup too small for the guest OOM-kills the
     * process here, at start, rather than later under load. */
    if (plan.flags & PLAN_PREFAULT)
        must(sys(SYS_madvise, (long)plan.mem_start, (long)(plan.mem_end - plan.mem_start),
                MADV_POPULATE_WRITE), "populate guest memory", LOADER_PREFAULT);
    for (unsigned i = 0; i < plan.nregions; i++)
        must(sys(SYS_mprotect, plan.regions[i].addr, plan.regions[i].len,
                plan.regions[i].prot), "mprotect guest memory", LOADER_PROTECT_GUEST);
    must(sys(SYS_close, plan.mem_fd, 0, 0), "close guest memory", LOADER_CLOSE_MEM);

    /* Close every fd but the kept ones (sorted): the gaps between them. */
    unsigned long next = 0;
    for (unsigned i = 0; i <= plan.nkeep; i++) {
        unsigned long upto = i < plan.nkeep ? (unsigned long)plan.keep[i] : ~0U;
        if (upto > next)
            must(sys(SYS_close_range, next, upto - 1, 0), "close fds", LOADER_CLOSE_FDS);
        next = upto + 1;
    }

    struct kernel_sigaction dfl = { 0 };
    for (int sig = 1; sig <= 64; sig++)
        if (sig != 9 && sig != 19)
            must(sys6(SYS_rt_sigaction, sig, (long)&dfl, 0, 8, 0, 0),
                    "rt_sigaction(SIG_DFL)", LOADER_SIGACTION);
    unsigned long none = 0;
    must(sys6(SYS_rt_sigprocmask, 2 /* SIG_SETMASK */, (long)&none, 0, 8, 0, 0),
            "rt_sigprocmask", LOADER_SIGPROCMASK);

    /* A crash must not dump guest memory anywhere (core_pattern may pipe
     * it to a program). */
    unsigned long no_core[2] = { 0, 0 };
    must(sys6(SYS_prlimit64, 0, 4 /* RLIMIT_CORE */, (long)no_core, 0, 0, 0),
            "prlimit64(RLIMIT_CORE, 0)", LOADER_NO_CORE);

    /* ps and /proc/PID/comm show the tender, not the memfd it came from. */
    must(sys6(SYS_prctl, PR_SET_NAME, (long)"runnc-spt", 0, 0, 0, 0),
            "prctl(PR_SET_NAME)", LOADER_SET_NAME);
    must(sys6(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0),
            "prctl(PR_SET_NO_NEW_PRIVS)", LOADER_NO_NEW_PRIVS);

    /* Off the kernel's stack, which stage2 unmaps. */
    __asm__ __volatile__("mov %0, %%rsp\n"
            "call stage2\n"
            "ud2\n"
            :
            : "r"(stack + sizeof(stack))
            : "memory");
    __builtin_unreachable();
}

/* tender/loader_test.go builds this file with its own entry point, to
 * test unmap_range against a sealed page. */
#ifndef STUB_TEST
__asm__(
    ".globl _start\n"
    "_start:\n"
    "    mov %rsp, %rdi\n"
    "    and $-16, %rsp\n"
    "    call stub_main\n"
    "    ud2\n");
#endif
