/* The control socket's send budget (net/send_budget.h): the rule, and that
 * it reads a real socket's queue. */
#include "net/send_budget.h"
#include "tests/check_run.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

START_TEST(test_rule)
{
    /* Rate unknown: the floor is the whole allowance. */
    ck_assert_uint_eq(send_budget_for(0, 0), SEND_BUDGET_FLOOR);
    ck_assert_uint_eq(send_budget_for(SEND_BUDGET_FLOOR - 1, 0), 1);
    ck_assert_uint_eq(send_budget_for(SEND_BUDGET_FLOOR, 0), 0);
    /* The fault suite's slow link (40 KB/s): 100 ms of it is under the floor. */
    ck_assert_uint_eq(send_budget_for(8192, 40000), SEND_BUDGET_FLOOR - 8192);
    ck_assert_uint_eq(send_budget_for(60000, 40000), 0);
    /* A fast link is not held by a queue that drains in well under 100 ms. */
    uint64_t rate = 100000000; /* 100 MB/s */
    ck_assert_uint_eq(send_budget_for(1 << 20, rate), rate / 1000 * SEND_BUDGET_MS - (1 << 20));
    ck_assert_uint_eq(send_budget_for(rate / 1000 * SEND_BUDGET_MS, rate), 0);
}
END_TEST

/* A connected pair on 127.0.0.1 (the kernel picks the port). */
static void tcp_pair(int *client, int *server)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int l = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(l, 0);
    ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(l, 1), 0);
    ck_assert_int_eq(getsockname(l, (struct sockaddr *)&a, &alen), 0);
    *client = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_eq(connect(*client, (struct sockaddr *)&a, sizeof(a)), 0);
    *server = accept(l, NULL, NULL);
    ck_assert_int_ge(*server, 0);
    close(l);
}

START_TEST(test_real_socket)
{
    int c, s;
    tcp_pair(&c, &s);
    ck_assert_uint_eq(send_budget_control(c), SEND_BUDGET_FLOOR);
    /* Bytes the peer has not read yet but its kernel acknowledged are not
     * queued here: at most what is still unacknowledged counts. */
    char buf[4096] = {0};
    ck_assert_int_eq(write(c, buf, sizeof(buf)), (ssize_t)sizeof(buf));
    size_t b = send_budget_control(c);
    ck_assert_uint_le(b, SEND_BUDGET_FLOOR);
    ck_assert_uint_ge(b, SEND_BUDGET_FLOOR - sizeof(buf));
    close(c);
    close(s);
    /* Not a socket: nothing to go by, nothing held. */
    int fd = open("/dev/null", O_WRONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_uint_eq(send_budget_control(fd), SIZE_MAX);
    close(fd);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("net-send-budget");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_rule);
    tcase_add_test(tc, test_real_socket);
    suite_add_tcase(s, tc);
    return check_run(s);
}
