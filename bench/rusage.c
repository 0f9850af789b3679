/*
 * rusage.c — bench-only stand-in for GNU `time -f '%e %M' -o FILE`: run a command, then write
 * "<wall seconds> <peak RSS KiB>" of the child to FILE (wait4's ru_maxrss). Used by
 * tools/bench-crl.sh instead of GNU time: same ru_maxrss, but wall time in milliseconds.
 *
 *   rusage FILE CMD [ARGS...]     exit status: the command's (128+signal if killed)
 */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    struct rusage ru;
    double t0;
    int status = 0;
    pid_t pid;
    FILE *f;

    if (argc < 3) {
        fprintf(stderr, "usage: rusage FILE CMD [ARGS...]\n");
        return 2;
    }
    t0 = now_s();
    if ((pid = fork()) < 0) {
        perror("rusage: fork");
        return 4;
    }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        perror("rusage: exec");
        _exit(127);
    }
    if (wait4(pid, &status, 0, &ru) < 0) {
        perror("rusage: wait4");
        return 4;
    }
    if ((f = fopen(argv[1], "w")) == NULL || fprintf(f, "%.3f %ld\n", now_s() - t0,
                                                      ru.ru_maxrss) < 0 || fclose(f) != 0) {
        perror("rusage: write");
        return 4;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
