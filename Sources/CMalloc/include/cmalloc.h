// glibc's malloc tuning, which Swift's Glibc module does not bring in.
#include <malloc.h>

/// At most `count` malloc arenas in the process (0 on failure, as mallopt).
static inline int labgate_limit_malloc_arenas(int count) {
    return mallopt(M_ARENA_MAX, count);
}
