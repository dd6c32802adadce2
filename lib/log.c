#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum log_level g_log_level = LOG_WARN;
static int g_log_fd = -1;

int log_open(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    g_log_fd = fd;
    g_log_level = LOG_DEBUG;
    return 0;
}

void log_set_fd(int fd) { g_log_fd = fd; }

void log_raw(const char *buf, unsigned long len)
{
    if (g_log_fd >= 0 && write(g_log_fd, buf, len) < 0) {
        /* nowhere left to report it */
    }
}

void log_msg(enum log_level lvl, const char *file, int line, const char *func,
             const char *fmt, ...)
{
    static const char *const names[] = { "E", "W", "I", "D" };
    char buf[1024];
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int n = snprintf(buf, sizeof(buf), "%s %ld.%06ld [%ld] %s:%d %s: ", names[lvl],
                     (long)ts.tv_sec, ts.tv_nsec / 1000, (long)syscall(SYS_gettid),
                     file, line, func);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof(buf))
        n += vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(buf) - 1)
        n = sizeof(buf) - 2;
    buf[n++] = '\n';
    log_raw(buf, n);
    if (lvl == LOG_ERR && g_log_fd != STDERR_FILENO) {
        /* errors reach the user even without --debug-log: message part only */
        const char *msg = strstr(buf, ": ");
        msg = msg ? msg + 2 : buf;
        if (write(STDERR_FILENO, "sandbox: ", 9) < 0 ||
            write(STDERR_FILENO, msg, (size_t)(buf + n - msg)) < 0) {
            /* nothing to do */
        }
    }
}
