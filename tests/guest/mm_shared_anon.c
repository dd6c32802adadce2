/* Shared anonymous memory across fork: MAP_SHARED|MAP_ANONYMOUS and shared mappings of
 * /dev/zero are one object, so pages first touched after fork are still shared;
 * private anonymous pages are not. /proc/self/maps names the object as Linux does. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest.h"

static void check(const char *what, volatile int *shared, volatile int *priv)
{
    pid_t pid = fork();
    if (pid == 0) {
        shared[0] = 11;            /* never touched before the fork */
        shared[4096 / 4 * 2] = 22; /* the third page */
        priv[0] = 33;
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("%s: child exit %d, shared %d %d, private %d\n", what, WEXITSTATUS(status),
           shared[0], shared[4096 / 4 * 2], priv[0]);
    /* and the other way round, on a page the child never touched */
    pid = fork();
    if (pid == 0) {
        for (int i = 0; i < 1000 && shared[4096 / 4] != 44; i++)
            usleep(1000);
        _exit(shared[4096 / 4] == 44 ? 0 : 1);
    }
    shared[4096 / 4] = 44;
    waitpid(pid, &status, 0);
    printf("%s: the child saw the parent's write: %s\n", what,
           WEXITSTATUS(status) == 0 ? "yes" : "no");
}

int main(void)
{
    size_t len = 3 * 4096;
    int *anon = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int *priv = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (anon == MAP_FAILED || priv == MAP_FAILED) {
        printf("FAIL mmap\n");
        return 1;
    }
    check("MAP_SHARED|MAP_ANONYMOUS", anon, priv);

    int zfd = open("/dev/zero", O_RDWR);
    int *zero = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, zfd, 0);
    close(zfd);
    if (zero == MAP_FAILED) {
        printf("FAIL mmap /dev/zero\n");
        return 1;
    }
    check("shared /dev/zero", zero, priv);

    /* maps: both shared objects show as the deleted /dev/zero, mode rw-s */
    char line[512], want[64];
    int found = 0;
    snprintf(want, sizeof(want), "%lx-", (unsigned long)anon);
    FILE *m = fopen("/proc/self/maps", "r");
    while (m && fgets(line, sizeof(line), m))
        if (strncmp(line, want, strlen(want)) == 0) {
            found = 1;
            printf("maps: %s %s", strstr(line, " rw-s ") ? "rw-s" : "?",
                   strstr(line, "/dev/zero (deleted)") ? "/dev/zero (deleted)\n" : "?\n");
        }
    if (m)
        fclose(m);
    printf("maps line found: %d\n", found);
    return 0;
}
