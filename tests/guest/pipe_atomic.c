/* PIPE_BUF atomicity: several forked writers each write PIPE_BUF-sized records of
 * their own letter into one pipe; the reader checks that no record was interleaved
 * with another, and that every record arrived. */
#include "guest.h"

#include <limits.h>
#include <sched.h>
#include <sys/wait.h>

#define WRITERS 4
#define RECORDS 64

static void writer(int fd, char letter)
{
    static char rec[PIPE_BUF];
    memset(rec, letter, sizeof(rec));
    for (int i = 0; i < RECORDS; i++) {
        /* a write of PIPE_BUF bytes to a pipe with a reader is never short */
        if (write(fd, rec, sizeof(rec)) != (ssize_t)sizeof(rec))
            _exit(1);
        if (i % 8 == 0)
            sched_yield();
    }
    _exit(0);
}

/* read_full: reads exactly n bytes unless EOF comes first; the bytes read. */
static size_t read_full(int fd, char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return got;
}

int main(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t kids[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        kids[i] = fork();
        CHECK(kids[i] >= 0);
        if (kids[i] == 0) {
            close(p[0]);
            writer(p[1], (char)('a' + i));
        }
    }
    close(p[1]);

    static char rec[PIPE_BUF];
    int counts[WRITERS] = { 0 };
    int bad = 0;
    size_t n;
    while ((n = read_full(p[0], rec, sizeof(rec))) == sizeof(rec)) {
        char c = rec[0];
        for (size_t j = 1; j < sizeof(rec); j++)
            if (rec[j] != c) {
                bad++;
                break;
            }
        if (c >= 'a' && c < 'a' + WRITERS)
            counts[c - 'a']++;
        else
            bad++;
    }
    say("trailing bytes: %zu\n", n);
    say("interleaved records: %d\n", bad);
    for (int i = 0; i < WRITERS; i++) {
        int st;
        CHECK(waitpid(kids[i], &st, 0) == kids[i]);
        say("writer %c: exit %d, records %d\n", 'a' + i, WEXITSTATUS(st), counts[i]);
    }
    return 0;
}
