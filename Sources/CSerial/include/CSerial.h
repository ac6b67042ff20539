#ifndef LABGATE_CSERIAL_H
#define LABGATE_CSERIAL_H
/* POSIX terminal calls Swift cannot import: ioctl is variadic, and the XSI pty functions are
   hidden from Swift's Glibc module. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>

/* TIOCEXCL: further opens of the tty fail with EBUSY (except for CAP_SYS_ADMIN). */
static inline int lg_tty_set_exclusive(int fd) { return ioctl(fd, TIOCEXCL); }
/* TIOCNXCL: undo TIOCEXCL before closing, so that the next open is not refused. */
static inline int lg_tty_clear_exclusive(int fd) { return ioctl(fd, TIOCNXCL); }

/* A new pseudo-terminal master, granted and unlocked, with its slave's path in `name`;
   -1 with errno set on failure. */
int lg_pty_open(char *name, size_t size);
#endif
