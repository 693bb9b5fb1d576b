/*
 * tier-app: the Lind tier's workloads, one C program (one lind_compile).
 *
 *   tier-app SCENARIO DIR     files | forkexec | threads | shared | pipes | dup |
 *                             cloexec | errors | fifo
 *   tier-app bench-close N    N closes of a bad fd; prints ns per call
 *   tier-app bench-write N DIR  N writes of 4 KiB to DIR/bench.bin, read back
 *
 * Each scenario creates DIR (a lindfs path), writes its files there and
 * prints verdict lines on stdout that never depend on cage ids or timing,
 * so a bare run and a teed run print the same thing. Exit status 0 when
 * every check held (under imfs-grate Lind loses the status, so the lines
 * matter too).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int failures;
static const char *self;

static void check(int ok, const char *what) {
	printf("%s: %s\n", what, ok ? "ok" : "FAILED");
	if (!ok)
		failures++;
}

static char *path_in(const char *dir, const char *name) {
	static char buf[8][512];
	static int next;
	char *p = buf[next++ % 8];
	snprintf(p, 512, "%s/%s", dir, name);
	return p;
}

static int put(const char *path, int flags, const char *text) {
	int fd = open(path, flags, 0644);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static ssize_t slurp(const char *path, char *out, size_t cap) {
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, out, cap - 1);
	close(fd);
	out[n < 0 ? 0 : n] = 0;
	return n;
}

static int files(const char *dir) {
	char buf[256];
	check(put(path_in(dir, "notes.txt"), O_WRONLY | O_CREAT | O_TRUNC, "alpha\n") == 0,
	      "files create");
	check(put(path_in(dir, "notes.txt"), O_WRONLY | O_APPEND, "beta\n") == 0, "files append");
	int fd = open(path_in(dir, "notes.txt"), O_RDWR);
	check(pwrite(fd, "A", 1, 0) == 1, "files pwrite");
	check(lseek(fd, 6, SEEK_SET) == 6, "files lseek");
	check(read(fd, buf, 5) == 5 && memcmp(buf, "beta\n", 5) == 0, "files read after lseek");
	check(pread(fd, buf, 5, 0) == 5 && memcmp(buf, "Alpha", 5) == 0, "files pread");
	struct stat st;
	check(fstat(fd, &st) == 0 && st.st_size == 11, "files fstat size");
	close(fd);
	check(mkdir(path_in(dir, "sub"), 0755) == 0, "files mkdir");
	check(put(path_in(dir, "sub/inner.txt"), O_WRONLY | O_CREAT, "inner\n") == 0,
	      "files create in subdir");
	check(put(path_in(dir, "gone.txt"), O_WRONLY | O_CREAT, "x") == 0, "files create to unlink");
	check(unlink(path_in(dir, "gone.txt")) == 0, "files unlink");
	check(rename(path_in(dir, "sub/inner.txt"), path_in(dir, "sub/moved.txt")) == 0,
	      "files rename");
	check(stat(path_in(dir, "sub/moved.txt"), &st) == 0 && st.st_size == 6, "files stat");
	check(access(path_in(dir, "gone.txt"), F_OK) == -1 && errno == ENOENT,
	      "files access after unlink");
	check(truncate(path_in(dir, "sub/moved.txt"), 3) == 0, "files truncate");
	check(slurp(path_in(dir, "notes.txt"), buf, sizeof buf) == 11 &&
		      strcmp(buf, "Alpha\nbeta\n") == 0,
	      "files content");
	return 0;
}

static int forkexec(const char *dir) {
	int shared = open(path_in(dir, "shared.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	fflush(stdout);
	pid_t child = fork();
	if (child == 0) {
		write(shared, "child\n", 6);
		char *argv[] = {(char *)self, "exec-child", (char *)dir, NULL};
		execv(self, argv);
		_exit(127);
	}
	int status = 0;
	check(child > 0 && waitpid(child, &status, 0) == child, "forkexec wait");
	check(WIFEXITED(status) && WEXITSTATUS(status) == 7, "forkexec child status");
	write(shared, "parent\n", 7);
	close(shared);
	char buf[64];
	check(slurp(path_in(dir, "shared.txt"), buf, sizeof buf) == 13 &&
		      strcmp(buf, "child\nparent\n") == 0,
	      "forkexec shared fd");
	check(slurp(path_in(dir, "exec.txt"), buf, sizeof buf) > 0 &&
		      strcmp(buf, "exec'd\n") == 0,
	      "forkexec exec'd child wrote");
	return 0;
}

static int exec_child(const char *dir) {
	put(path_in(dir, "exec.txt"), O_WRONLY | O_CREAT | O_TRUNC, "exec'd\n");
	printf("forkexec child: running\n");
	fflush(stdout);
	return 7;
}

struct job {
	const char *dir;
	int index;
	int fd;
};

/* Each thread writes its own file; the fds stay open until every thread is
 * done, so no fd number is reused while the threads race. */
static void *thread_body(void *arg) {
	struct job *job = arg;
	char name[32], line[64];
	snprintf(name, sizeof name, "thread%d.txt", job->index);
	job->fd = open(path_in(job->dir, name), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	for (int i = 0; i < 20; i++) {
		int n = snprintf(line, sizeof line, "thread %d line %d\n", job->index, i);
		write(job->fd, line, n);
	}
	return NULL;
}

static int threads(const char *dir) {
	pthread_t t[4];
	struct job jobs[4];
	for (int i = 0; i < 4; i++) {
		jobs[i] = (struct job){dir, i, -1};
		check(pthread_create(&t[i], NULL, thread_body, &jobs[i]) == 0, "threads create");
	}
	for (int i = 0; i < 4; i++)
		check(pthread_join(t[i], NULL) == 0, "threads join");
	for (int i = 0; i < 4; i++)
		check(close(jobs[i].fd) == 0, "threads close");
	struct stat st;
	check(stat(path_in(dir, "thread3.txt"), &st) == 0 && st.st_size > 0, "threads files");
	return 0;
}

/* Four threads append to one O_APPEND fd at once: the file's line order is
 * the kernel's, and the tee must log and duplicate the writes in it. */
static int shared_fd;

static void *shared_body(void *arg) {
	int index = *(int *)arg;
	char line[64];
	for (int i = 0; i < 50; i++) {
		int n = snprintf(line, sizeof line, "thread %d record %03d\n", index, i);
		write(shared_fd, line, n);
	}
	return NULL;
}

static int shared(const char *dir) {
	pthread_t t[4];
	int index[4];
	shared_fd = open(path_in(dir, "shared.txt"), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	check(shared_fd >= 0, "shared open");
	for (int i = 0; i < 4; i++) {
		index[i] = i;
		check(pthread_create(&t[i], NULL, shared_body, &index[i]) == 0, "shared create");
	}
	for (int i = 0; i < 4; i++)
		check(pthread_join(t[i], NULL) == 0, "shared join");
	check(close(shared_fd) == 0, "shared close");
	struct stat st;
	check(stat(path_in(dir, "shared.txt"), &st) == 0 && st.st_size == 4 * 50 * 20, "shared size");
	return 0;
}

static int pipes(const char *dir) {
	int p[2];
	check(pipe(p) == 0, "pipes pipe");
	fflush(stdout);
	pid_t child = fork();
	if (child == 0) {
		close(p[0]);
		write(p[1], "ping through a pipe\n", 20);
		_exit(0);
	}
	close(p[1]);
	char buf[64];
	ssize_t got = 0, n;
	while ((n = read(p[0], buf + got, sizeof buf - 1 - got)) > 0)
		got += n;
	buf[got] = 0;
	close(p[0]);
	waitpid(child, NULL, 0);
	check(got == 20 && strcmp(buf, "ping through a pipe\n") == 0, "pipes read");
	check(put(path_in(dir, "pipe.txt"), O_WRONLY | O_CREAT | O_TRUNC, buf) == 0,
	      "pipes saved");
	int q[2];
	check(pipe2(q, O_CLOEXEC) == 0 && write(q[1], "x", 1) == 1 && read(q[0], buf, 1) == 1,
	      "pipes pipe2");
	close(q[0]);
	close(q[1]);
	return 0;
}

/*
 * mkfifo_test's steps: a child opens the FIFO for writing and writes, the
 * parent opens it for reading; each open blocks until the other end is
 * open. A secondary that reads the FIFO itself on the child's open would
 * hold the child, so the parent's read, for ever.
 */
static int fifo(const char *dir) {
	const char *path = path_in(dir, "fifo");
	check(mkfifo(path, 0644) == 0, "fifo mkfifo");
	struct stat st;
	check(stat(path, &st) == 0 && S_ISFIFO(st.st_mode), "fifo is a fifo");
	fflush(stdout);
	pid_t child = fork();
	if (child == 0) {
		int w = open(path, O_WRONLY);
		_exit(w >= 0 && write(w, "through a fifo\n", 15) == 15 && close(w) == 0 ? 0 : 1);
	}
	int r = open(path, O_RDONLY);
	check(r >= 0, "fifo open for reading");
	char buf[64];
	ssize_t got = 0, n;
	while (r >= 0 && (n = read(r, buf + got, sizeof buf - 1 - got)) > 0)
		got += n;
	buf[got] = 0;
	close(r);
	int status = -1;
	waitpid(child, &status, 0);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "fifo writer exited 0");
	check(got == 15 && strcmp(buf, "through a fifo\n") == 0, "fifo read");
	check(unlink(path) == 0, "fifo unlink");
	return 0;
}

static int dups(const char *dir) {
	int fd = open(path_in(dir, "dup.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int d = dup(fd);
	check(d >= 0 && d != fd, "dup dup");
	check(dup2(fd, 10) == 10, "dup dup2");
	check(write(fd, "one\n", 4) == 4, "dup write original");
	check(write(d, "two\n", 4) == 4, "dup write dup");
	close(fd);
	check(write(10, "three\n", 6) == 6, "dup write dup2 after close");
	int f = fcntl(d, F_DUPFD, 20);
	check(f >= 20 && write(f, "four\n", 5) == 5, "dup fcntl F_DUPFD");
	close(d);
	close(10);
	close(f);
	char buf[64];
	check(slurp(path_in(dir, "dup.txt"), buf, sizeof buf) == 19 &&
		      strcmp(buf, "one\ntwo\nthree\nfour\n") == 0,
	      "dup content");
	return 0;
}

static int cloexec(const char *dir) {
	int keep = open(path_in(dir, "keep.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int drop = open(path_in(dir, "drop.txt"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int later = open(path_in(dir, "later.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	check(fcntl(later, F_SETFD, FD_CLOEXEC) == 0, "cloexec F_SETFD");
	check(fcntl(later, F_GETFD) == FD_CLOEXEC, "cloexec F_GETFD");
	char a[16], b[16], c[16];
	snprintf(a, sizeof a, "%d", keep);
	snprintf(b, sizeof b, "%d", drop);
	snprintf(c, sizeof c, "%d", later);
	fflush(stdout);
	pid_t child = fork();
	if (child == 0) {
		char *argv[] = {(char *)self, "cloexec-check", a, b, c, NULL};
		execv(self, argv);
		_exit(127);
	}
	int status = 0;
	waitpid(child, &status, 0);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "cloexec child saw the right fds");
	char buf[64];
	check(slurp(path_in(dir, "keep.txt"), buf, sizeof buf) == 5 && strcmp(buf, "kept\n") == 0,
	      "cloexec kept fd written after exec");
	return 0;
}

static int cloexec_check(char **fds) {
	int keep = atoi(fds[0]), drop = atoi(fds[1]), later = atoi(fds[2]);
	int ok = write(keep, "kept\n", 5) == 5;
	ok &= fcntl(drop, F_GETFD) == -1 && errno == EBADF;
	ok &= fcntl(later, F_GETFD) == -1 && errno == EBADF;
	printf("cloexec child: %s\n", ok ? "ok" : "FAILED");
	fflush(stdout);
	return ok ? 0 : 1;
}

static int errors(const char *dir) {
	char buf[16];
	int fd;
	check(open(path_in(dir, "missing/none.txt"), O_RDONLY) == -1 && errno == ENOENT,
	      "errors open missing: ENOENT");
	check(read(99, buf, 1) == -1 && errno == EBADF, "errors read bad fd: EBADF");
	check(close(99) == -1 && errno == EBADF, "errors close bad fd: EBADF");
	check(mkdir(dir, 0755) == -1 && errno == EEXIST, "errors mkdir existing: EEXIST");
	check(mkdir(path_in(dir, "full"), 0755) == 0, "errors mkdir");
	check(put(path_in(dir, "full/f.txt"), O_WRONLY | O_CREAT, "f") == 0, "errors fill dir");
	check(rmdir(path_in(dir, "full")) == -1 && errno == ENOTEMPTY,
	      "errors rmdir non-empty: ENOTEMPTY");
	fd = open(path_in(dir, "full/f.txt"), O_RDONLY);
	check(write(fd, "x", 1) == -1 && errno == EBADF, "errors write read-only fd: EBADF");
	close(fd);
	check(open(path_in(dir, "full/f.txt"), O_WRONLY | O_CREAT | O_EXCL, 0644) == -1 &&
		      errno == EEXIST,
	      "errors O_EXCL existing: EEXIST");
	return 0;
}

static long long now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int bench_close(long n) {
	long long start = now_ns();
	for (long i = 0; i < n; i++)
		close(999);
	long long took = now_ns() - start;
	printf("bench-close: %ld calls, %lld ns per call\n", n, took / (n > 0 ? n : 1));
	return 0;
}

static int bench_write(long n, const char *dir) {
	static char block[4096];
	memset(block, 'w', sizeof block);
	long long start = now_ns();
	int fd = open(path_in(dir, "bench.bin"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	long ok = 0;
	for (long i = 0; i < n; i++)
		ok += write(fd, block, sizeof block) == sizeof block;
	lseek(fd, 0, SEEK_SET);
	for (long i = 0; i < n; i++)
		ok += read(fd, block, sizeof block) == sizeof block;
	close(fd);
	long long took = now_ns() - start;
	printf("bench-write: %ld of %ld ok, %lld ns per write+read\n", ok, 2 * n,
	       took / (n > 0 ? n : 1));
	return ok == 2 * n ? 0 : 1;
}

int main(int argc, char **argv) {
	self = argv[0];
	if (argc < 3) {
		fprintf(stderr, "usage: tier-app SCENARIO DIR | bench-close N | bench-write N DIR\n");
		return 2;
	}
	const char *what = argv[1], *dir = argv[2];
	if (strcmp(what, "exec-child") == 0)
		return exec_child(dir);
	if (strcmp(what, "cloexec-check") == 0 && argc == 5)
		return cloexec_check(argv + 2);
	if (strcmp(what, "bench-close") == 0)
		return bench_close(atol(dir));
	if (strcmp(what, "bench-write") == 0 && argc == 4) {
		mkdir(argv[3], 0755);
		return bench_write(atol(dir), argv[3]);
	}
	check(mkdir(dir, 0755) == 0, "mkdir scenario dir");
	int (*run)(const char *) = NULL;
	if (strcmp(what, "files") == 0)
		run = files;
	else if (strcmp(what, "forkexec") == 0)
		run = forkexec;
	else if (strcmp(what, "threads") == 0)
		run = threads;
	else if (strcmp(what, "pipes") == 0)
		run = pipes;
	else if (strcmp(what, "shared") == 0)
		run = shared;
	else if (strcmp(what, "dup") == 0)
		run = dups;
	else if (strcmp(what, "cloexec") == 0)
		run = cloexec;
	else if (strcmp(what, "errors") == 0)
		run = errors;
	else if (strcmp(what, "fifo") == 0)
		run = fifo;
	if (!run) {
		fprintf(stderr, "tier-app: unknown scenario %s\n", what);
		return 2;
	}
	run(dir);
	printf("%s: %s\n", what, failures ? "FAILED" : "all ok");
	return failures ? 1 : 0;
}
