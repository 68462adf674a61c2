/*
 * The pod sandbox's process for the CRI tests: it holds the pod's
 * namespaces and does nothing else. As pid 1 of its pid namespace it
 * reaps children it inherits, and it ends (status 0) on SIGTERM or
 * SIGINT, which pid 1 only receives with a handler installed.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void quit(int sig)
{
    (void)sig;
    _exit(0);
}

static void reap(int sig)
{
    (void)sig;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
}

int main(void)
{
    struct sigaction q = {.sa_handler = quit}, r = {.sa_handler = reap, .sa_flags = SA_NOCLDSTOP};
    sigaction(SIGTERM, &q, NULL);
    sigaction(SIGINT, &q, NULL);
    sigaction(SIGCHLD, &r, NULL);
    for (;;)
        pause();
}
