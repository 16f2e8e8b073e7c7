/* Unit tests of node IDs (human form, check characters), identities and the config parser. */
#include "net/config.h"
#include "net/identity.h"
#include "net/node_id.h"

#include "common/sha256.h"

#include "tests/unit/scratch.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* SHA-256("abc") in human form, computed independently (Python base64 + Luhn mod 32). */
static const char ABC_ID[] = "XJ4BNP4-PAHH6UO-QKBIDPF-3LRCEOI-YAGYNDS-YLXVHFZ-UCD7WD4-QACWWQW";

START_TEST(test_id_known)
{
    uint8_t id[NODE_ID_LEN], back[NODE_ID_LEN];
    char s[NODE_ID_STR_LEN + 1];
    ck_assert_int_eq(node_id_from_der((const uint8_t *)"abc", 3, id), 0);
    node_id_format(id, s);
    ck_assert_str_eq(s, ABC_ID);
    ck_assert_int_eq(node_id_parse(s, back), 0);
    ck_assert_mem_eq(id, back, NODE_ID_LEN);
}
END_TEST

START_TEST(test_id_forms)
{
    uint8_t id[NODE_ID_LEN], want[NODE_ID_LEN];
    char s[NODE_ID_STR_LEN + 2], loose[NODE_ID_STR_LEN + 1];
    sha256("abc", 3, want);
    /* lower case, no dashes */
    size_t k = 0;
    for (const char *p = ABC_ID; *p; p++)
        if (*p != '-')
            loose[k++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    loose[k] = 0;
    ck_assert_int_eq(node_id_parse(loose, id), 0);
    ck_assert_mem_eq(id, want, NODE_ID_LEN);
    ck_assert_int_eq(node_id_parse("", id), -EINVAL);
    ck_assert_int_eq(node_id_parse("XJ4BNP4-PAHH6UO", id), -EINVAL);
    strcpy(s, ABC_ID);
    s[3] = '1'; /* not base32 */
    ck_assert_int_eq(node_id_parse(s, id), -EINVAL);
    strcpy(s, ABC_ID);
    strcat(s, "A");
    ck_assert_int_eq(node_id_parse(s, id), -EINVAL);
}
END_TEST

/* Luhn mod 32 catches every single-character substitution. */
START_TEST(test_id_check_catches_typos)
{
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    uint8_t id[NODE_ID_LEN];
    char s[NODE_ID_STR_LEN + 1];
    for (size_t i = 0; i < NODE_ID_STR_LEN; i++) {
        if (ABC_ID[i] == '-')
            continue;
        for (int a = 0; a < 32; a++) {
            strcpy(s, ABC_ID);
            if (alpha[a] == s[i])
                continue;
            s[i] = alpha[a];
            int rc = node_id_parse(s, id);
            ck_assert_msg(rc == -EBADMSG || rc == -EINVAL, "typo at %zu not caught", i);
        }
    }
}
END_TEST

static char tmpdir[64];

static void mk_tmp(void)
{
    ck_assert_int_eq(scratch_mkdir(tmpdir, sizeof(tmpdir), "id"), 0);
}

static void rm_tmp(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_identity_create)
{
    mk_tmp();
    char key[128], crt[128];
    snprintf(key, sizeof(key), "%s/node.key", tmpdir);
    snprintf(crt, sizeof(crt), "%s/node.crt", tmpdir);
    uint8_t id[NODE_ID_LEN], id2[NODE_ID_LEN];
    ck_assert_int_eq(identity_create(key, crt, id), 0);
    struct stat st;
    ck_assert_int_eq(stat(key, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(identity_cert_id(crt, id2), 0);
    ck_assert_mem_eq(id, id2, NODE_ID_LEN);
    /* Never overwritten. */
    ck_assert_int_eq(identity_create(key, crt, id2), -EEXIST);
    ck_assert_int_eq(identity_cert_id(crt, id2), 0);
    ck_assert_mem_eq(id, id2, NODE_ID_LEN);
    rm_tmp();
}
END_TEST

static const char *const PEER1 = "XJ4BNP4-PAHH6UO-QKBIDPF-3LRCEOI-YAGYNDS-YLXVHFZ-UCD7WD4-QACWWQW";

static char good_id[NODE_ID_STR_LEN + 1];

static void setup_ids(void)
{
    uint8_t id[NODE_ID_LEN];
    sha256("self", 4, id);
    node_id_format(id, good_id);
}

START_TEST(test_config_good)
{
    setup_ids();
    char text[1024], err[256];
    snprintf(text, sizeof(text),
             "# comment\n\n  node-id = %s  \nlisten=127.0.0.1:7466\ndata = /var/q # trailing\n"
             "peer = %s [::1]:7000\r\n",
             good_id, PEER1);
    struct net_config c;
    ck_assert_int_eq(net_config_parse(text, "n.conf", &c, err, sizeof(err)), 0);
    ck_assert_uint_eq(c.npeers, 1);
    ck_assert_str_eq(c.data_dir, "/var/q");
    ck_assert_str_eq(c.cert_path, "/var/q/node.crt");
    ck_assert_str_eq(c.key_path, "/var/q/node.key");
    ck_assert_str_eq(c.peers[0].addr.str, "[::1]:7000");
    ck_assert_int_eq(c.peers[0].addr.sa.ss_family, AF_INET6);
}
END_TEST

/* Each bad file must fail with "bad.conf:LINE: ..." naming the problem. */
static void expect_bad(const char *body, int line, const char *what)
{
    char text[4096], err[256], prefix[32];
    snprintf(text, sizeof(text), body, good_id, PEER1);
    struct net_config c;
    ck_assert_int_eq(net_config_parse(text, "bad.conf", &c, err, sizeof(err)), -EINVAL);
    snprintf(prefix, sizeof(prefix), "bad.conf:%d: ", line);
    ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0, "got '%s', want %s", err, prefix);
    ck_assert_msg(strstr(err, what), "got '%s', want '%s'", err, what);
}

#define HEAD "node-id = %1$s\nlisten = 127.0.0.1:1\ndata = /d\n"

START_TEST(test_config_bad)
{
    setup_ids();
    expect_bad(HEAD "lisen = 1.2.3.4:5\n", 4, "unknown setting 'lisen'");
    expect_bad(HEAD "peer %2$s 1.2.3.4:5\n", 4, "expected 'setting = value'");
    expect_bad(HEAD "peer =\n", 4, "'peer' has no value");
    expect_bad(HEAD " = x\n", 4, "missing setting name");
    expect_bad(HEAD "peer = %2$s\n", 4, "peer needs '<node ID> <address:port>'");
    expect_bad(HEAD "peer = %2$sX 1.2.3.4:5\n", 4, "is not a node ID");
    expect_bad(HEAD "peer = XJ4BNP5-PAHH6UO-QKBIDPF-3LRCEOI-YAGYNDS-YLXVHFZ-UCD7WD4-QACWWQW "
                    "1.2.3.4:5\n",
               4, "wrong check character");
    expect_bad(HEAD "peer = %2$s 1.2.3.4\n", 4, "bad peer address");
    expect_bad(HEAD "peer = %2$s 1.2.3.4:70000\n", 4, "bad peer address");
    expect_bad(HEAD "peer = %2$s host.example:5\n", 4, "bad peer address");
    expect_bad(HEAD "peer = %2$s 1.2.3.4:5\npeer = %2$s 1.2.3.5:5\n", 5, "listed twice");
    expect_bad(HEAD "peer = %1$s 1.2.3.4:5\n", 4, "own ID");
    expect_bad(HEAD "listen = 127.0.0.1:2\n", 4, "'listen' is set twice");
    expect_bad("node-id = %1$s\nlisten = 127.0.0.1:x\n", 2, "bad listen address");
    expect_bad("node-id = %1$s\ndata = /d\n", 2, "missing required setting 'listen'");
    expect_bad("listen = 127.0.0.1:1\ndata = /d\n#%1$s%2$s\n", 3, "'node-id'");
    char many[4096] = HEAD;
    for (int i = 0; i <= NET_MAX_PEERS; i++) {
        uint8_t id[NODE_ID_LEN];
        char s[NODE_ID_STR_LEN + 1], line[128];
        sha256(&i, sizeof(i), id);
        node_id_format(id, s);
        snprintf(line, sizeof(line), "peer = %s 10.0.0.%d:1\n", s, i + 1);
        strcat(many, line);
    }
    expect_bad(many, 4 + NET_MAX_PEERS, "too many peers");
    char longline[2048] = HEAD "data = ";
    memset(longline + strlen(longline), 'x', 1100);
    expect_bad(longline, 4, "longer than");
}
END_TEST

START_TEST(test_config_load)
{
    struct net_config c;
    char err[256];
    ck_assert_int_eq(net_config_load("/nonexistent/q.conf", &c, err, sizeof(err)), -ENOENT);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/q.conf"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("net-identity");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_id_known);
    tcase_add_test(tc, test_id_forms);
    tcase_add_test(tc, test_id_check_catches_typos);
    tcase_add_test(tc, test_identity_create);
    tcase_add_test(tc, test_config_good);
    tcase_add_test(tc, test_config_bad);
    tcase_add_test(tc, test_config_load);
    suite_add_tcase(s, tc);
    return scratch_run(s);
}
