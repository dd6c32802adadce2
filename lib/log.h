/* Logging with a level and a location. Messages go to the debug log (--debug-log) when
 * one is open, and errors also to stderr. Safe to call from any thread. */
#ifndef LIB_LOG_H
#define LIB_LOG_H

enum log_level { LOG_ERR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* g_log_level: messages above this level are dropped. */
extern enum log_level g_log_level;

/* log_open: sends the log to path (appending); returns 0 or -errno. */
int log_open(const char *path);
/* log_set_fd: sends the log to an already open fd (-1: none). */
void log_set_fd(int fd);
/* log_msg: formats and writes one line; use the macros below instead. */
void log_msg(enum log_level lvl, const char *file, int line, const char *func,
             const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* log_raw: writes preformatted text to the log fd (used by --strace when logging). */
void log_raw(const char *buf, unsigned long len);

#define log_at(lvl, ...) do { if ((lvl) <= g_log_level) \
        log_msg((lvl), __FILE__, __LINE__, __func__, __VA_ARGS__); } while (0)
#define log_err(...)   log_at(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  log_at(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_at(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_at(LOG_DEBUG, __VA_ARGS__)

#endif
