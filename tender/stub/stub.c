/*
 * The loader stub: what runnc-spt execs into, so that no Go runtime (no
 * threads, no signal handlers, no heap) is left in the guest's process.
 *
 * It reads the plan from the fd named by argv[1], maps guest memory from
 * the plan's memfd, applies W^X protections, closes every other fd, resets
 * signals, installs the seccomp filter and jumps to the guest. Freestanding,
 * static, linked far above guest memory; a few KB.
 */
#include "plan.h"

#define SYS_read            0
#define SYS_write           1
#define SYS_close           3
#define SYS_mmap            9
#define SYS_mprotect        10
#define SYS_rt_sigaction    13
#define SYS_rt_sigprocmask  14
#define SYS_prctl           157
#define SYS_exit_group      231
#define SYS_prlimit64       302
#define SYS_seccomp         317
#define SYS_close_range     436

#define PROT_READ           1
#define PROT_WRITE          2
#define MAP_SHARED          0x01
#define MAP_FIXED_NOREPLACE 0x100000
#define PR_SET_NAME         15
#define PR_SET_NO_NEW_PRIVS 38
#define SECCOMP_SET_MODE_FILTER 1

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

static void say(const char *s)
{
    long n = 0;
    while (s[n])
        n++;
    sys(SYS_write, 2, s, n);
}

static void fail(const char *what, long err)
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
    sys(SYS_exit_group, 1, 0, 0);
    __builtin_unreachable();
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

__attribute__((noreturn, used)) void stub_main(long *sp)
{
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    long r;

    if (argc < 2)
        fail("usage: plan fd missing", -22);
    int plan_fd = 0;
    for (const char *p = argv[1]; *p; p++)
        plan_fd = plan_fd * 10 + (*p - '0');

    char *dst = (char *)&plan;
    unsigned long got = 0;
    while (got < sizeof(plan)) {
        r = sys(SYS_read, plan_fd, dst + got, sizeof(plan) - got);
        if (r < 0)
            fail("read plan", r);
        if (r == 0)
            break;
        got += (unsigned long)r;
    }
    if (got != sizeof(plan) || plan.magic != PLAN_MAGIC ||
            plan.nregions > PLAN_MAX_REGIONS || plan.nkeep > PLAN_MAX_KEEP ||
            plan.filter_len == 0 || plan.filter_len > PLAN_MAX_FILTER)
        fail("bad plan", -22);
    sys(SYS_close, plan_fd, 0, 0);

    /* Shared: the memfd is ours alone, and a private mapping would hold
     * every page the guest writes twice (the memfd's page, which even a
     * read fault allocates, and the copy), doubling the guest's memory
     * against a container's limit. */
    r = sys6(SYS_mmap, (long)plan.mem_start, (long)(plan.mem_end - plan.mem_start),
            PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE,
            plan.mem_fd, (long)plan.mem_start);
    if (r != (long)plan.mem_start)
        fail("map guest memory", r < 0 ? r : -17);
    for (unsigned i = 0; i < plan.nregions; i++) {
        r = sys(SYS_mprotect, plan.regions[i].addr, plan.regions[i].len,
                plan.regions[i].prot);
        if (r < 0)
            fail("mprotect guest memory", r);
    }
    sys(SYS_close, plan.mem_fd, 0, 0);

    /* Close every fd but the kept ones (sorted): the gaps between them. */
    unsigned long next = 0;
    for (unsigned i = 0; i <= plan.nkeep; i++) {
        unsigned long upto = i < plan.nkeep ? (unsigned long)plan.keep[i] : ~0U;
        if (upto > next) {
            r = sys(SYS_close_range, next, upto - 1, 0);
            if (r < 0)
                fail("close fds", r);
        }
        next = upto + 1;
    }

    struct kernel_sigaction dfl = { 0 };
    for (int sig = 1; sig <= 64; sig++)
        if (sig != 9 && sig != 19)
            sys6(SYS_rt_sigaction, sig, (long)&dfl, 0, 8, 0, 0);
    unsigned long none = 0;
    sys6(SYS_rt_sigprocmask, 2 /* SIG_SETMASK */, (long)&none, 0, 8, 0, 0);

    /* A crash must not dump guest memory into the working directory. */
    unsigned long no_core[2] = { 0, 0 };
    sys6(SYS_prlimit64, 0, 4 /* RLIMIT_CORE */, (long)no_core, 0, 0, 0);

    /* ps and /proc/PID/comm show the tender, not the memfd it came from. */
    sys6(SYS_prctl, PR_SET_NAME, (long)"runnc-spt", 0, 0, 0, 0);
    r = sys6(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0);
    if (r < 0)
        fail("prctl(NO_NEW_PRIVS)", r);
    struct sock_fprog prog = { (unsigned short)plan.filter_len, plan.filter };
    r = sys(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
    if (r < 0)
        fail("install seccomp filter", r);

    /* From here on only the seven calls work. Enter the guest with a clean
     * register file. */
    register uint64_t entry __asm__("r11") = plan.entry;
    __asm__ __volatile__(
            "mov %%rsi, %%rsp\n"
            "xor %%eax, %%eax\n"
            "xor %%ebx, %%ebx\n"
            "xor %%ecx, %%ecx\n"
            "xor %%edx, %%edx\n"
            "xor %%esi, %%esi\n"
            "xor %%ebp, %%ebp\n"
            "xor %%r8d, %%r8d\n"
            "xor %%r9d, %%r9d\n"
            "xor %%r10d, %%r10d\n"
            "xor %%r12d, %%r12d\n"
            "xor %%r13d, %%r13d\n"
            "xor %%r14d, %%r14d\n"
            "xor %%r15d, %%r15d\n"
            "jmp *%%r11\n"
            :
            : "S"(plan.stack_top), "D"(plan.boot_info), "r"(entry)
            : "memory");
    __builtin_unreachable();
}

__asm__(
    ".globl _start\n"
    "_start:\n"
    "    mov %rsp, %rdi\n"
    "    and $-16, %rsp\n"
    "    call stub_main\n"
    "    ud2\n");
