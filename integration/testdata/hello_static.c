/* The floor for the hello benchmark: a static C process that prints one
 * line and exits, started the way the tender is. */
#include <unistd.h>

int main(void)
{
    static const char msg[] = "Hello, World\n";
    return write(1, msg, sizeof(msg) - 1) == sizeof(msg) - 1 ? 0 : 1;
}
