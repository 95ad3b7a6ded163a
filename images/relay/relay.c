/*
 * dinv-relay PORT: the kubelet's way into a pod's network namespace when it cannot route to the
 * pod's IP. Run (exec) inside the pod's infra container, it connects to 127.0.0.1:PORT and
 * copies stdin to the connection and the connection to stdout. Its first byte on stdout is 0
 * once connected; when the connection fails it writes the errno (1..255) instead and exits 1.
 * After stdin ends it half-closes the connection and waits for the other side, as socat does,
 * at most 2 s more. No libc: static, a few hundred bytes, any Linux x86-64 image can run it.
 * Build: see build.sh (the kubelet embeds the result, src/kubelet/provider/relay-binary.ts).
 */
typedef unsigned long u64;
typedef long i64;

static i64 sys(i64 n, i64 a, i64 b, i64 c, i64 d) {
  i64 ret;
  register i64 r10 __asm__("r10") = d;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
  return ret;
}

#define READ 0
#define WRITE 1
#define POLL 7
#define SOCKET 41
#define CONNECT 42
#define SHUTDOWN 48
#define EXIT 60

struct pollfd { int fd; short events; short revents; };
struct sockaddr_in { unsigned short family; unsigned short port; unsigned int addr; char zero[8]; };

static char buf[65536];

static int put(int fd, const char *p, i64 n) {
  while (n > 0) {
    i64 w = sys(WRITE, fd, (i64)p, n, 0);
    if (w <= 0) return -1;
    p += w;
    n -= w;
  }
  return 0;
}

static void relay(i64 port) {
  int s = (int)sys(SOCKET, 2, 1, 0, 0);
  struct sockaddr_in a = {2, (unsigned short)(((port & 0xff) << 8) | ((port >> 8) & 0xff)), 0x0100007f, {0}};
  i64 r = s < 0 ? s : sys(CONNECT, s, (i64)&a, sizeof a, 0);
  char status = (char)(r < 0 ? -r : 0);
  put(1, &status, 1);
  if (r < 0) sys(EXIT, 1, 0, 0, 0);
  struct pollfd fds[2] = {{0, 1, 0}, {s, 1, 0}};
  int in_open = 1;
  for (;;) {
    i64 n = sys(POLL, (i64)fds, 2, in_open ? -1 : 2000, 0);
    if (n == 0) break; /* stdin ended and the other side is silent: done */
    if (n < 0) continue;
    if (in_open && fds[0].revents) {
      i64 got = sys(READ, 0, (i64)buf, sizeof buf, 0);
      if (got <= 0) {
        in_open = 0;
        fds[0].fd = -1;
        sys(SHUTDOWN, s, 1, 0, 0);
      } else if (put(s, buf, got)) break;
    }
    if (fds[1].revents) {
      i64 got = sys(READ, s, (i64)buf, sizeof buf, 0);
      if (got <= 0 || put(1, buf, got)) break;
    }
  }
  sys(EXIT, 0, 0, 0, 0);
}

__attribute__((force_align_arg_pointer)) void _start_c(i64 *sp) {
  i64 argc = sp[0];
  const char *arg = argc > 1 ? (const char *)sp[2] : "";
  i64 port = 0;
  for (; *arg >= '0' && *arg <= '9'; arg++) port = port * 10 + (*arg - '0');
  if (port < 1 || port > 65535 || *arg) sys(EXIT, 2, 0, 0, 0);
  relay(port);
}

__asm__(".globl _start\n_start:\n  mov %rsp, %rdi\n  and $-16, %rsp\n  call _start_c\n");
