/* Exit status: the code in argv[1], truncated to 8 bits (256 is 0), through the way in
 * argv[2]: "exit" (libc exit, the default), "return" (from main), "exit_group" or
 * "exit_thread" (raw exit of the only thread, which ends the process too). */
// exit-status: any
// runs: 0 | 1 | 2 | 42 | 127 | 128 | 200 | 255 | 256
// runs: 9 return | 7 exit_group | 300 exit_group | 3 exit_thread
#include "guest.h"

int main(int argc, char **argv)
{
    CHECK(argc >= 2);
    int code = atoi(argv[1]);
    const char *how = argc >= 3 ? argv[2] : "exit";
    CHECK(strcmp(how, "exit") == 0 || strcmp(how, "return") == 0 ||
          strcmp(how, "exit_group") == 0 || strcmp(how, "exit_thread") == 0);
    /* musl line-buffers stdout until its first flush finds it is not a terminal. */
    printf("exiting with %d (status %d) via %s\n", code, code & 0xff, how);
    CHECK(fflush(stdout) == 0);

    /* stdout is a file, so this line sits in libc's buffer: exit() and returning from
     * main flush it, the raw system calls do not. */
    printf("buffered line\n");
    if (strcmp(how, "return") == 0)
        return code;
    if (strcmp(how, "exit_group") == 0)
        syscall(SYS_exit_group, code);
    else if (strcmp(how, "exit_thread") == 0)
        syscall(SYS_exit, code);
    else if (strcmp(how, "exit") == 0)
        exit(code);
    say("FAIL still running after %s\n", how);
    return 1;
}
