/*
 * tally-blast: tallyd's own bounded UDP load generator for the benches (loopback only).
 *
 * Builds a ring of ready-made StatsD packets once, then sends them with sendmmsg(2) in batches,
 * paced to a packet rate (or flat out), until a packet count or a number of seconds (at most 600)
 * is reached. It prints what it sent, one `name value` per line, for bench/e2e/loadgen.ts.
 *
 *   cc -O2 -o tally-blast tally-blast.c
 *   ./tally-blast -p 8125 -r 40000 -l 25 -s 5 -k 1000 -m ct -P blast
 *
 * Counter lines are always `<prefix>.c<k>:1|c`, so the counts a daemon flushes for `<prefix>.c*`
 * add up to `sent_counter_lines` when nothing was lost.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RING 4096       /* packets prepared in advance */
#define PKT_MAX 1400    /* stays under a 1,500-byte MTU with IP and UDP headers */
#define BATCH 64        /* datagrams per sendmmsg call */
#define MAX_SECONDS 600

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(const char *self) {
  fprintf(stderr,
          "usage: %s [-h 127.0.0.1] [-p port] (-n packets | -s seconds) [-r pkts/s] [-l lines] [-k keys] [-m types] [-P prefix]\n",
          self);
  exit(2);
}

int main(int argc, char **argv) {
  const char *host = "127.0.0.1";
  const char *prefix = "blast";
  const char *mix = "c";
  int port = 8125, lines = 1, keys = 1000, opt;
  long long max_packets = 0;
  double seconds = 0, rate = 0;

  while ((opt = getopt(argc, argv, "h:p:n:s:r:l:k:m:P:")) != -1) {
    switch (opt) {
      case 'h': host = optarg; break;
      case 'p': port = atoi(optarg); break;
      case 'n': max_packets = atoll(optarg); break;
      case 's': seconds = atof(optarg); break;
      case 'r': rate = atof(optarg); break;
      case 'l': lines = atoi(optarg); break;
      case 'k': keys = atoi(optarg); break;
      case 'm': mix = optarg; break;
      case 'P': prefix = optarg; break;
      default: usage(argv[0]);
    }
  }
  if (max_packets <= 0 && seconds <= 0) usage(argv[0]);
  if (seconds <= 0 || seconds > MAX_SECONDS) seconds = MAX_SECONDS;
  if (lines < 1) lines = 1;
  if (keys < 1) keys = 1;
  size_t nmix = strlen(mix);
  if (nmix == 0) usage(argv[0]);
  for (size_t i = 0; i < nmix; i++) {
    if (!strchr("ctgs", mix[i])) {
      fprintf(stderr, "unknown line type '%c' (use c, t, g, s)\n", mix[i]);
      return 2;
    }
  }

  /* The ring: RING packets, each `lines` lines, with per-packet counter-line counts. */
  char *ring = malloc((size_t)RING * PKT_MAX);
  int *len = calloc(RING, sizeof(int));
  int *counters = calloc(RING, sizeof(int));
  int *nlines = calloc(RING, sizeof(int));
  if (!ring || !len || !counters || !nlines) return 1;
  unsigned seq = 0, rnd = 2463534242u;
  for (int p = 0; p < RING; p++) {
    char *buf = ring + (size_t)p * PKT_MAX;
    int off = 0;
    for (int l = 0; l < lines; l++) {
      char line[256];
      char t = mix[seq % nmix];
      int k = (int)((seq / nmix) % (unsigned)keys);
      rnd ^= rnd << 13; rnd ^= rnd >> 17; rnd ^= rnd << 5;
      int n;
      switch (t) {
        case 'c': n = snprintf(line, sizeof line, "%s.c%d:1|c", prefix, k); break;
        case 't': n = snprintf(line, sizeof line, "%s.t%d:%u|ms", prefix, k, rnd % 1000); break;
        case 'g': n = snprintf(line, sizeof line, "%s.g%d:%u|g", prefix, k, rnd % 100); break;
        default: n = snprintf(line, sizeof line, "%s.s%d:%u|s", prefix, k, rnd % 10000); break;
      }
      if (off + (off ? 1 : 0) + n > PKT_MAX) break; /* the packet is full: never split a line */
      if (off) buf[off++] = '\n';
      memcpy(buf + off, line, (size_t)n);
      off += n;
      nlines[p]++;
      if (t == 'c') counters[p]++;
      seq++;
    }
    len[p] = off;
  }

  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) { perror("socket"); return 1; }
  int sndbuf = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  struct sockaddr_in to;
  memset(&to, 0, sizeof to);
  to.sin_family = AF_INET;
  to.sin_port = htons((unsigned short)port);
  if (inet_pton(AF_INET, host, &to.sin_addr) != 1) { fprintf(stderr, "bad IPv4 address: %s\n", host); return 2; }
  if (connect(fd, (struct sockaddr *)&to, sizeof to) != 0) { perror("connect"); return 1; }

  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  long long sent_packets = 0, sent_lines = 0, sent_counters = 0, send_errors = 0;
  int cursor = 0;
  double start = now_s(), deadline = start + seconds;

  for (;;) {
    double t = now_s();
    if (t >= deadline) break;
    if (max_packets > 0 && sent_packets >= max_packets) break;
    int want = BATCH;
    if (rate > 0) {
      /* pace: send only what the schedule allows by now */
      long long due = (long long)((t - start) * rate) + 1 - sent_packets;
      if (due <= 0) {
        struct timespec nap = {0, 50000};
        nanosleep(&nap, NULL);
        continue;
      }
      if (due < want) want = (int)due;
    }
    if (max_packets > 0 && max_packets - sent_packets < want) want = (int)(max_packets - sent_packets);
    for (int i = 0; i < want; i++) {
      int p = (cursor + i) % RING;
      iov[i].iov_base = ring + (size_t)p * PKT_MAX;
      iov[i].iov_len = (size_t)len[p];
      memset(&msgs[i], 0, sizeof msgs[i]);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = sendmmsg(fd, msgs, (unsigned)want, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      send_errors++;
      if (errno == ECONNREFUSED || errno == ENOBUFS || errno == EAGAIN) continue;
      perror("sendmmsg");
      break;
    }
    for (int i = 0; i < n; i++) {
      int p = (cursor + i) % RING;
      sent_lines += nlines[p];
      sent_counters += counters[p];
    }
    sent_packets += n;
    cursor = (cursor + n) % RING;
  }
  double took = now_s() - start;
  if (took <= 0) took = 1e-9;
  printf("sent_packets %lld\n", sent_packets);
  printf("sent_lines %lld\n", sent_lines);
  printf("sent_counter_lines %lld\n", sent_counters);
  printf("seconds %.3f\n", took);
  printf("packets_per_sec %.0f\n", (double)sent_packets / took);
  printf("lines_per_sec %.0f\n", (double)sent_lines / took);
  printf("send_errors %lld\n", send_errors);
  close(fd);
  return 0;
}
