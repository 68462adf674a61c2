/*
 * The guest may use SSE and the x87 FPU as a user process does: the
 * tender's hand-over leaves the FPU in its default state (exceptions
 * masked, round to nearest) and the stack 16-byte aligned for movaps.
 */
#include "test.h"

static volatile double zero = 0.0, two = 2.0;

int solo5_app_main(const struct solo5_start_info *si)
{
    t_puts("\n**** Solo5 standalone test_fpu ****\n\n");

    /* Scalar SSE2 (what gcc emits for double on x86_64). */
    volatile double a = 1.5, b = 2.25;
    CHECK(a * b == 3.375);
    CHECK(a / b > 0.666666 && a / b < 0.666667);

    /* Packed single precision on 16-byte aligned stack memory. */
    float x[4] __attribute__((aligned(16))) = { 1.0f, 2.0f, 3.0f, 4.0f };
    float y[4] __attribute__((aligned(16))) = { 0.5f, 0.25f, 2.0f, -1.0f };
    float z[4] __attribute__((aligned(16)));
    __asm__ __volatile__(
            "movaps %1, %%xmm0\n\t"
            "mulps %2, %%xmm0\n\t"
            "addps %2, %%xmm0\n\t"
            "movaps %%xmm0, %0"
            : "=m"(z) : "m"(x), "m"(y) : "xmm0");
    /* x*y + y */
    CHECK(z[0] == 1.0f && z[1] == 0.75f && z[2] == 8.0f && z[3] == -5.0f);

    /* sqrtsd */
    double r, v = two;
    __asm__ ("sqrtsd %1, %0" : "=x"(r) : "x"(v));
    CHECK(r * r > 1.9999999 && r * r < 2.0000001);

    /* x87: (3 * 2.5) + 1 */
    double three = 3.0, two_half = 2.5, x87;
    __asm__ __volatile__(
            "fldl %1\n\t"
            "fmull %2\n\t"
            "fld1\n\t"
            "faddp\n\t"
            "fstpl %0"
            : "=m"(x87) : "m"(three), "m"(two_half));
    CHECK(x87 == 8.5);

    /* Exceptions are masked: 1/0 is infinity, 0/0 a NaN, no SIGFPE. */
    double inf = 1.0 / zero, nan = zero / zero;
    CHECK(inf > 1e308);
    CHECK(nan != nan);

    /* Round to nearest: 1 + 2^-53 rounds to 1, 1 + 2^-52 does not. */
    volatile double tiny = 1.1102230246251565e-16;
    CHECK(1.0 + tiny == 1.0);
    CHECK(1.0 + 2 * tiny != 1.0);

    t_puts("SUCCESS\n");
    return SOLO5_EXIT_SUCCESS;
}
