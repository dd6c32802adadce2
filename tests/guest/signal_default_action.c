/* Default actions: a signal with no handler terminates the process, which its parent
 * sees as killed by that signal; ignored and default-ignored signals do nothing. */
// runs: SIGSEGV | SIGUSR1 | SIGABRT | ignored | SIGCHLD
// exit-status: any
#include "guest.h"

#include <signal.h>

int main(int argc, char **argv)
{
    CHECK(argc == 2);
    say("start\n");
    if (strcmp(argv[1], "SIGSEGV") == 0) {
        *(volatile int *)0 = 1;
    } else if (strcmp(argv[1], "SIGUSR1") == 0) {
        raise(SIGUSR1);
    } else if (strcmp(argv[1], "SIGABRT") == 0) {
        abort();
    } else if (strcmp(argv[1], "ignored") == 0) {
        signal(SIGUSR1, SIG_IGN);
        raise(SIGUSR1);
    } else if (strcmp(argv[1], "SIGCHLD") == 0) {
        raise(SIGCHLD);
    }
    say("still here\n");
    return 0;
}
