/* A tree of 200 processes: each level forks children that fork in turn; every exit
 * status is collected and summed at the root. */
#include "guest.h"

#include <sys/wait.h>

/* spawn: makes n descendants below the caller (including direct children) and
 * returns how many exited 0. */
static int spawn(int n)
{
    if (n <= 0)
        return 0;
    int kids = n < 4 ? n : 4, left = n - kids, ok = 0;
    pid_t pids[4];
    for (int i = 0; i < kids; i++) {
        int share = left / kids + (i < left % kids);
        pids[i] = fork();
        CHECK(pids[i] >= 0);
        if (pids[i] == 0) {
            int sub = spawn(share);
            _exit(sub == share ? 0 : 1);
        }
        ok += share;
    }
    int good = 0;
    for (int i = 0; i < kids; i++) {
        int st;
        CHECK(waitpid(pids[i], &st, 0) == pids[i]);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
            good++;
    }
    return good == kids ? ok + kids : -1;
}

int main(void)
{
    int n = spawn(200);
    say("processes that exited cleanly: %d\n", n);
    return n == 200 ? 0 : 1;
}
