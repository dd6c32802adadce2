/* The command line: one function per verb, listed in main.c's command table. A verb
 * parses its flags into a local options struct, does its work through library calls,
 * and returns the process exit status. Usage errors exit 2, as runc's do. */
#ifndef RUNTIME_CLI_H
#define RUNTIME_CLI_H

/* Exit status for a bad command line. */
#define EXIT_USAGE 2

struct global_opts {
    const char *argv0;
};

/* cmd_run: `sandbox run [flags] PROGRAM [ARGS...]`. */
int cmd_run(struct global_opts *g, int argc, char **argv);

/* cmd_gofer: `sandbox gofer --root DIR --fd N [--readonly]` (started by gofer_spawn). */
int cmd_gofer(struct global_opts *g, int argc, char **argv);

/* cmd_boot: `sandbox boot ... -- PROGRAM [ARGS...]` (started by launch_sandbox). */
int cmd_boot(struct global_opts *g, int argc, char **argv);

/* cli_error: prints "sandbox: <message>" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
