/*
 * Raw TCP connections to a server on loopback, from a chosen loopback
 * address, for the tests of connection limits and timeouts: a client that
 * connects and says nothing, trickles bytes, or must find its connection
 * closed. Include after <cmocka.h>.
 */
#ifndef GPUSLICE_TESTS_COMMON_RAWCONN_H
#define GPUSLICE_TESTS_COMMON_RAWCONN_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A connection from address from (any 127.x.y.z works on Linux's loopback)
 * to 127.0.0.1:port. */
static inline int rawconn_open(const char *from, uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in src = {.sin_family = AF_INET};
    assert_int_equal(inet_pton(AF_INET, from, &src.sin_addr), 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&src, sizeof src), 0);
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(port)};
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&dst, sizeof dst), 0);
    return fd;
}

/* Sends text; false when the server has closed the connection. */
static inline bool rawconn_send(int fd, const char *text)
{
    size_t len = strlen(text);
    return send(fd, text, len, MSG_NOSIGNAL) == (ssize_t)len;
}

/* Reads what arrives within wait_ms into buf (NUL-terminated); the bytes
 * read, 0 when the server closed the connection, -1 when nothing came. */
static inline ssize_t rawconn_read(int fd, char *buf, size_t size, int wait_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    buf[0] = '\0';
    if (poll(&p, 1, wait_ms) <= 0)
        return -1;
    ssize_t n = recv(fd, buf, size - 1, 0);
    if (n < 0)
        return errno == ECONNRESET ? 0 : -1;
    buf[n] = '\0';
    return n;
}

/* Whether the server closes the connection within wait_ms, skipping
 * whatever it sends before. */
static inline bool rawconn_closed_within(int fd, int wait_ms)
{
    char buf[4096];
    for (int waited = 0; waited < wait_ms; waited += 100) {
        ssize_t n = rawconn_read(fd, buf, sizeof buf, 100);
        if (n == 0)
            return true;
    }
    return false;
}

#endif
