#include "net/identity.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#define CERT_VALID_DAYS (100L * 365) /* pinned by fingerprint, so expiry buys nothing */

static EVP_PKEY *key_generate(void)
{
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *kctx = EVP_PKEY_CTX_new_from_name(NULL, "ED25519", NULL);
    if (kctx && EVP_PKEY_keygen_init(kctx) == 1)
        EVP_PKEY_keygen(kctx, &pkey);
    EVP_PKEY_CTX_free(kctx);
    return pkey;
}

static X509 *cert_self_sign(EVP_PKEY *pkey)
{
    X509 *x = X509_new();
    unsigned char serial[16];
    BIGNUM *bn = NULL;
    int ok = x && RAND_bytes(serial, sizeof(serial)) == 1;
    serial[0] &= 0x7f; /* a positive serial */
    ok = ok && (bn = BN_bin2bn(serial, sizeof(serial), NULL)) != NULL;
    ok = ok && X509_set_version(x, 2) && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
    ok = ok && X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
         X509_time_adj_ex(X509_getm_notAfter(x), CERT_VALID_DAYS, 0, NULL);
    X509_NAME *name = ok ? X509_get_subject_name(x) : NULL;
    ok = ok && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                          (const unsigned char *)"quorumfs node", -1, -1, 0);
    ok = ok && X509_set_issuer_name(x, name) && X509_set_pubkey(x, pkey);
    /* Ed25519 signs the whole message: no separate digest. */
    ok = ok && X509_sign(x, pkey, NULL) > 0;
    BN_free(bn);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* Writes through a FILE on a fd opened O_EXCL with mode; removes the file on failure. */
static int write_pem(const char *path, mode_t mode, EVP_PKEY *pkey, X509 *x)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return -errno;
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(path);
        return -ENOMEM;
    }
    int ok = pkey ? PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) : PEM_write_X509(f, x);
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (fclose(f) != 0)
        ok = 0;
    if (!ok) {
        unlink(path);
        return -EIO;
    }
    return 0;
}

int identity_x509_id(X509 *x, uint8_t id[NODE_ID_LEN])
{
    unsigned char *der = NULL;
    int len = i2d_X509(x, &der);
    if (len <= 0)
        return -EIO;
    int rc = node_id_from_der(der, (size_t)len, id);
    OPENSSL_free(der);
    return rc;
}

int identity_create(const char *key_path, const char *cert_path, uint8_t id[NODE_ID_LEN])
{
    if (access(key_path, F_OK) == 0 || access(cert_path, F_OK) == 0)
        return -EEXIST;
    EVP_PKEY *pkey = key_generate();
    X509 *x = pkey ? cert_self_sign(pkey) : NULL;
    int rc = x ? 0 : -EIO;
    if (rc == 0)
        rc = write_pem(key_path, 0600, pkey, NULL);
    if (rc == 0) {
        rc = write_pem(cert_path, 0644, NULL, x);
        if (rc < 0)
            unlink(key_path);
    }
    if (rc == 0)
        rc = identity_x509_id(x, id);
    X509_free(x);
    EVP_PKEY_free(pkey);
    return rc;
}

int identity_cert_id(const char *cert_path, uint8_t id[NODE_ID_LEN])
{
    FILE *f = fopen(cert_path, "re");
    if (!f)
        return -errno;
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!x)
        return -EIO;
    int rc = identity_x509_id(x, id);
    X509_free(x);
    return rc;
}
