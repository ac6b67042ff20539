// labgate-first-calls SYMBOLS OUT -- PROGRAM [ARGS...]
//
// Runs PROGRAM under ptrace with a one-shot breakpoint on the entry of every function listed in
// SYMBOLS ("hexaddress name" per line, as `nm` prints the executable's text symbols) and writes
// to OUT the name of each function the first time any thread enters it, in that order.
// scripts/link-order feeds this list to the linker, which then places the code the daemon runs
// next to each other (BENCHMARKS.md, "Peak RSS"). Sampling profilers miss code that runs once,
// and code that runs once still makes its pages resident, so every entry is caught.
// SIGTERM, SIGINT and SIGHUP are forwarded to PROGRAM; the exit status is PROGRAM's.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    uint64_t address;
    char *name;
    unsigned char original;
    int armed;
} Function;

static Function *functions;
static size_t functionCount;
static volatile pid_t traced;

static void forward(int sig) {
    if (traced > 0) kill(traced, sig);
}

static int byAddress(const void *a, const void *b) {
    uint64_t x = ((const Function *)a)->address, y = ((const Function *)b)->address;
    return x < y ? -1 : x > y;
}

static Function *functionAt(uint64_t address) {
    size_t low = 0, high = functionCount;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        if (functions[mid].address < address) low = mid + 1; else high = mid;
    }
    return low < functionCount && functions[low].address == address ? &functions[low] : NULL;
}

static int readSymbols(const char *path) {
    FILE *file = fopen(path, "r");
    if (!file) { fprintf(stderr, "labgate-first-calls: %s: %s\n", path, strerror(errno)); return -1; }
    size_t capacity = 1 << 16;
    functions = malloc(capacity * sizeof *functions);
    char line[16384];
    size_t lineNumber = 0;
    while (fgets(line, sizeof line, file)) {
        lineNumber++;
        char *space = strchr(line, ' ');
        if (!space) { fprintf(stderr, "labgate-first-calls: %s:%zu: expected \"address name\"\n", path, lineNumber); fclose(file); return -1; }
        *space = 0;
        char *name = space + 1;
        name[strcspn(name, "\n")] = 0;
        if (functionCount == capacity) { capacity *= 2; functions = realloc(functions, capacity * sizeof *functions); }
        functions[functionCount++] = (Function){ strtoull(line, NULL, 16), strdup(name), 0, 0 };
    }
    fclose(file);
    qsort(functions, functionCount, sizeof *functions, byAddress);
    return 0;
}

// The executable is position independent: its symbols' addresses are offsets from where the
// kernel mapped its first segment.
static uint64_t loadAddress(pid_t pid) {
    char path[64], exe[4096], line[8192];
    snprintf(path, sizeof path, "/proc/%d/exe", pid);
    ssize_t length = readlink(path, exe, sizeof exe - 1);
    if (length <= 0) return 0;
    exe[length] = 0;
    snprintf(path, sizeof path, "/proc/%d/maps", pid);
    FILE *maps = fopen(path, "r");
    if (!maps) return 0;
    uint64_t address = 0;
    while (fgets(line, sizeof line, maps)) {
        line[strcspn(line, "\n")] = 0;
        size_t n = strlen(line), e = strlen(exe);
        if (n >= e && strcmp(line + n - e, exe) == 0) { address = strtoull(line, NULL, 16); break; }
    }
    fclose(maps);
    return address;
}

int main(int argc, char **argv) {
    if (argc < 5 || strcmp(argv[3], "--") != 0) {
        fprintf(stderr, "usage: labgate-first-calls SYMBOLS OUT -- PROGRAM [ARGS...]\n");
        return 2;
    }
    if (readSymbols(argv[1]) != 0) return 2;
    FILE *out = fopen(argv[2], "w");
    if (!out) { fprintf(stderr, "labgate-first-calls: %s: %s\n", argv[2], strerror(errno)); return 2; }

    pid_t pid = fork();
    if (pid < 0) { perror("labgate-first-calls: fork"); return 2; }
    if (pid == 0) {
        ptrace(PTRACE_TRACEME, 0, NULL, NULL);
        execvp(argv[4], argv + 4);
        fprintf(stderr, "labgate-first-calls: %s: %s\n", argv[4], strerror(errno));
        _exit(127);
    }
    traced = pid;
    struct sigaction action = { .sa_handler = forward };
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGHUP, &action, NULL);

    int status;
    // Stopped at the exec: the program is mapped and has not run yet.
    if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status)) { fprintf(stderr, "labgate-first-calls: %s did not start\n", argv[4]); return 2; }
    ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)(long)(PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL));
    uint64_t base = loadAddress(pid);
    char memPath[64];
    snprintf(memPath, sizeof memPath, "/proc/%d/mem", pid);
    int memory = open(memPath, O_RDWR);
    if (memory < 0) { fprintf(stderr, "labgate-first-calls: %s: %s\n", memPath, strerror(errno)); return 2; }
    size_t armed = 0;
    const unsigned char breakpoint = 0xCC;
    for (size_t i = 0; i < functionCount; i++) {
        functions[i].address += base;
        if (i > 0 && functions[i].address == functions[i - 1].address) continue;
        if (pread(memory, &functions[i].original, 1, (off_t)functions[i].address) != 1) continue;
        if (pwrite(memory, &breakpoint, 1, (off_t)functions[i].address) != 1) continue;
        functions[i].armed = 1;
        armed++;
    }
    fprintf(stderr, "labgate-first-calls: %zu functions armed\n", armed);
    ptrace(PTRACE_CONT, pid, NULL, NULL);

    size_t entered = 0;
    for (;;) {
        pid_t thread = waitpid(-1, &status, __WALL);
        if (thread < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            if (thread == pid) break;
            continue;
        }
        if (!WIFSTOPPED(status)) continue;
        int sig = WSTOPSIG(status);
        if (sig == SIGTRAP && (status >> 16) != 0) {  // a new thread (PTRACE_EVENT_CLONE)
            ptrace(PTRACE_CONT, thread, NULL, NULL);
            continue;
        }
        if (sig == SIGSTOP) {  // a new thread's first stop
            ptrace(PTRACE_CONT, thread, NULL, NULL);
            continue;
        }
        if (sig == SIGTRAP) {
            struct user_regs_struct registers;
            ptrace(PTRACE_GETREGS, thread, NULL, &registers);
            Function *function = functionAt(registers.rip - 1);
            if (function) {
                // Another thread may have hit the same entry before it was restored.
                if (function->armed) {
                    pwrite(memory, &function->original, 1, (off_t)function->address);
                    function->armed = 0;
                    fprintf(out, "%s\n", function->name);
                    entered++;
                }
                registers.rip -= 1;
                ptrace(PTRACE_SETREGS, thread, NULL, &registers);
                ptrace(PTRACE_CONT, thread, NULL, NULL);
                continue;
            }
        }
        ptrace(PTRACE_CONT, thread, NULL, (void *)(long)sig);
    }
    if (fclose(out) != 0) { fprintf(stderr, "labgate-first-calls: %s: %s\n", argv[2], strerror(errno)); return 2; }
    fprintf(stderr, "labgate-first-calls: %zu functions entered\n", entered);
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 0;
}
