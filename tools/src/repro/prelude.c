/*
 * A reproducer written by tee-log repro from @LOG@.
 * It issues the log's calls in order, one function per recorded cage
 * (a recorded fork is a real fork), and checks each result against the
 * recording: the first mismatch is printed and the process exits 1.
 * Build: cc -o repro repro.c   (or lind_compile repro.c on Lind)
 * Run it in an empty directory: every recorded path is taken below it
 * (a leading / dropped, each .. renamed __), so it touches nothing else.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_FD 1024
#define MAX_CAGE 4096

/* The fd each recorded fd is here, and the pid of each recorded cage. */
static int fdmap[MAX_FD];
static pid_t pids[MAX_CAGE];
static unsigned char scratch[@SCRATCH@];
static struct stat st;
static int pair[2];
static int status;
static int checked;

#define FD(f) ((f) >= 0 && (f) < MAX_FD ? fdmap[f] : (f))
#define MAP(f, real) do { if ((f) >= 0 && (f) < MAX_FD) fdmap[f] = (int)(real); } while (0)
#define UNMAP(f) do { if ((f) >= 0 && (f) < MAX_FD) fdmap[f] = (f); } while (0)
#define PID(c) ((c) > 0 && (c) < MAX_CAGE && pids[c] ? pids[c] : (pid_t)(c))

/* The result as the log has it: -errno on failure. */
#define CHECK(rec, seq, cage, call, how, want, got) \
    check(rec, seq, cage, call, how, want, (got) < 0 ? -(long)errno : (long)(got))

static void mismatch(long rec, long seq, long cage, const char *call, const char *what)
{
    fprintf(stderr, "repro: first mismatch at record %ld (seq %ld, cage %ld): %s: %s\n",
            rec, seq, cage, call, what);
    exit(1);
}

static void check(long rec, long seq, long cage, const char *call, char how, long want, long got)
{
    int same = how == 'x' ? want == got : (want < 0 ? want == got : got >= 0);
    char what[96];
    checked++;
    if (!same) {
        snprintf(what, sizeof what, "recorded %ld, got %ld", want, got);
        mismatch(rec, seq, cage, call, what);
    }
}

#define SAME(rec, seq, cage, call, bytes, len) \
    do { if (memcmp(scratch, bytes, len) != 0) mismatch(rec, seq, cage, call, "the bytes read differ"); } while (0)

/* A recorded fork: the child runs its cage's calls and exits. */
static void spawn(long cage, int (*body)(void))
{
    pid_t pid = fork();
    if (pid == 0)
        exit(body());
    if (cage > 0 && cage < MAX_CAGE)
        pids[cage] = pid;
}

